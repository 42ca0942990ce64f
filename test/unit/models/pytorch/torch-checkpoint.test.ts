/**
 * The PyTorch checkpoint reader returns exactly the tensors our own `torch.save` (test/reference)
 * wrote, in both container formats and both pickle protocols PyTorch uses, including what real
 * checkpoints contain beyond plain contiguous tensors: int64 `num_batches_tracked` scalars, tensors
 * sharing one storage at offsets, non-contiguous strides (as in weights ported from TensorFlow), more
 * than 256 memo entries (LONG_BINPUT), ZIP64 records. A wrong stride walk, offset, dtype conversion or
 * memo lookup shows up as a value mismatch here.
 */
import { describe, expect, it } from 'vitest';
import { FaceVerifyError } from '../../../../src/errors.js';
import { checkpointFormat, readTorchCheckpoint } from '../../../../src/models/pytorch/torch-checkpoint.js';
import { seededRandom } from '../../../reference/inception-resnet-v1.js';
import {
  ownTensor,
  torchSave,
  type SaveOptions,
  type SaveStorage,
  type SaveTensor,
} from '../../../reference/torch-save.js';

/**
 * What a tensor should read back as: its elements gathered in row-major order, independently, as
 * float32 (int64 values too: the reader's contract is float32 data).
 */
function expected(t: SaveTensor): number[] {
  const out: number[] = [];
  const walk = (dim: number, at: number): void => {
    if (dim === t.shape.length) {
      out.push(Math.fround(Number(t.storage.data[at])));
      return;
    }
    for (let i = 0; i < (t.shape[dim] as number); i++) walk(dim + 1, at + i * (t.stride[dim] as number));
  };
  walk(0, t.offset);
  return out;
}

function sample(): [string, SaveTensor][] {
  const rand = seededRandom(7);
  const floats = (n: number): Float32Array => Float32Array.from({ length: n }, () => rand() * 2 - 1);
  const shared: SaveStorage = { key: 'shared', dtype: 'float32', data: floats(40) };
  // A conv kernel [O=10, I=3, 3, 3] stored as TensorFlow's [kh, kw, I, O] with strides (1, 10, 30, 90),
  // exactly as in facenet-pytorch's checkpoints ported from TensorFlow.
  const ported: SaveStorage = { key: 'ported', dtype: 'float32', data: floats(270) };
  const tensors: [string, SaveTensor][] = [
    ['conv.weight', ownTensor('0', [4, 3, 3, 3], floats(108))],
    ['conv.bias', ownTensor('1', [4], floats(4))],
    ['bn.num_batches_tracked', ownTensor('2', [], BigInt64Array.of(123456789n))],
    ['empty', ownTensor('3', [0, 5], new Float32Array(0))],
    ['view.a', { storage: shared, offset: 0, shape: [4, 5], stride: [5, 1] }],
    ['view.b', { storage: shared, offset: 20, shape: [20], stride: [1] }],
    ['view.transposed', { storage: shared, offset: 3, shape: [5, 3], stride: [1, 5] }],
    ['ported.weight', { storage: ported, offset: 0, shape: [10, 3, 3, 3], stride: [1, 10, 30, 90] }],
  ];
  // Enough entries that the memo passes 256 (LONG_BINPUT / LONG_BINGET).
  for (let i = 0; i < 120; i++) tensors.push([`many.${i}.weight`, ownTensor(`m${i}`, [2], floats(2))]);
  return tensors;
}

const VARIANTS: [string, SaveOptions][] = [
  ['zip, protocol 2 (torch.save default)', { format: 'zip' }],
  [
    'zip, protocol 4, file-stem prefix, ZIP64 records',
    { format: 'zip', protocol: 4, prefix: 'model-v1', zip64: true },
  ],
  ['legacy, protocol 2', { format: 'legacy' }],
  ['legacy, protocol 4', { format: 'legacy', protocol: 4 }],
];

describe('readTorchCheckpoint round-trips a state_dict', () => {
  const tensors = sample();
  for (const [label, options] of VARIANTS) {
    it(label, () => {
      const bytes = torchSave(tensors, options);
      expect(checkpointFormat(bytes)).toBe(options.format);
      const state = readTorchCheckpoint(bytes);
      expect([...state.keys()]).toEqual(tensors.map(([k]) => k));
      for (const [name, t] of tensors) {
        const got = state.get(name);
        expect(got?.shape, name).toEqual(t.shape);
        expect(got?.dtype, name).toBe(t.storage.dtype);
        expect(Array.from(got?.data ?? []), name).toEqual(expected(t));
      }
    });
  }
});

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof FaceVerifyError) return err.code;
    throw err;
  }
  return 'no error';
}

/** Replaces the first occurrence of `from` (same length) in a copy of `bytes`. */
function patch(bytes: Uint8Array, from: string, to: string): Uint8Array {
  const a = Buffer.from(bytes);
  const at = a.indexOf(from);
  if (at < 0 || from.length !== to.length) throw new Error(`cannot patch ${from}`);
  a.write(to, at, 'latin1');
  return new Uint8Array(a);
}

describe('readTorchCheckpoint refuses what it must not run or cannot trust', () => {
  const one: [string, SaveTensor][] = [['w', ownTensor('0', [2, 2], Float32Array.of(1, 2, 3, 4))]];

  it('a global outside the allow-list is refused, not called (MODEL_UNSUPPORTED)', () => {
    // `collections OrderedDict` → `posix\nsystem` padded to the same length.
    for (const format of ['zip', 'legacy'] as const) {
      const evil = patch(torchSave(one, { format }), 'collections\nOrderedDict', 'posixxxxxxx\nsystemxxxxx');
      expect(codeOf(() => readTorchCheckpoint(evil))).toBe('MODEL_UNSUPPORTED');
    }
  });

  it('an opcode outside the subset is refused (MODEL_UNSUPPORTED)', () => {
    // Put INST ("i"), which would call a class, where the legacy pickle's EMPTY_DICT of sys info is.
    const bytes = torchSave(one, { format: 'legacy' });
    const at = 21 + 2; // after magic (15 bytes) and protocol (6 bytes): PROTO 2, then EMPTY_DICT
    expect(bytes[at]).toBe(0x7d);
    const evil = Uint8Array.from(bytes);
    evil[at] = 0x69;
    expect(codeOf(() => readTorchCheckpoint(evil))).toBe('MODEL_UNSUPPORTED');
  });

  it('files that are not checkpoints, or are cut short, are MODEL_INVALID', () => {
    expect(codeOf(() => readTorchCheckpoint(new Uint8Array(0)))).toBe('MODEL_INVALID');
    expect(codeOf(() => readTorchCheckpoint(Buffer.from('\xff\xd8\xff\xe0 a JPEG')))).toBe('MODEL_INVALID');
    for (const format of ['zip', 'legacy'] as const) {
      const bytes = torchSave(one, { format });
      for (const cut of [10, bytes.length / 2, bytes.length - 3]) {
        expect(
          codeOf(() => readTorchCheckpoint(bytes.subarray(0, Math.floor(cut)))),
          `${format} ${cut}`,
        ).toBe('MODEL_INVALID');
      }
    }
  });

  it('a tensor reaching past its storage is MODEL_INVALID (no out-of-bounds read)', () => {
    const storage: SaveStorage = { key: 's', dtype: 'float32', data: new Float32Array(4) };
    for (const format of ['zip', 'legacy'] as const) {
      const past = torchSave([['w', { storage, offset: 1, shape: [4], stride: [1] }]], { format });
      expect(codeOf(() => readTorchCheckpoint(past))).toBe('MODEL_INVALID');
      // Stride 0 would let a tiny storage claim a huge tensor.
      const expanded = torchSave([['w', { storage, offset: 0, shape: [1000, 1000], stride: [0, 0] }]], {
        format,
      });
      expect(codeOf(() => readTorchCheckpoint(expanded))).toBe('MODEL_INVALID');
    }
  });

  it('a storage whose byte count disagrees with its element count is MODEL_INVALID', () => {
    // The pickle says 4 elements; say 5 instead (BININT1 4 → 5 in the persistent id).
    const zip = torchSave(one, { format: 'zip' });
    const z = Buffer.from(zip);
    const at = z.indexOf(Buffer.from('cpu'));
    // After 'cpu' comes BINPUT n, then BININT1 4.
    const k = z.indexOf(Buffer.from([0x4b, 0x04]), at);
    z[k + 1] = 5;
    expect(codeOf(() => readTorchCheckpoint(new Uint8Array(z)))).toBe('MODEL_INVALID');
  });
});
