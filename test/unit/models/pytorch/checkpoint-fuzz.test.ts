/**
 * Hostile checkpoints: mutated copies of valid zip and legacy checkpoints (byte flips, overwritten
 * runs, truncations, inserted and deleted bytes; a fixed-seed PRNG so failures reproduce) must each
 * either read or fail with a typed MODEL_INVALID / MODEL_UNSUPPORTED error — never another exception
 * (a crash). A hang fails the test by its timeout and an allocation blow-up by running out of memory;
 * how long a read takes is not asserted (on a busy machine any bound would fail by chance — a mutated
 * file of a few kB reads in well under a millisecond; FUZZ_RUNS=N prints the slowest).
 */
import { describe, expect, it } from 'vitest';
import { FaceVerifyError } from '../../../../src/errors.js';
import { readTorchCheckpoint } from '../../../../src/models/pytorch/torch-checkpoint.js';
import { seededRandom } from '../../../reference/inception-resnet-v1.js';
import { ownTensor, torchSave, type SaveTensor } from '../../../reference/torch-save.js';

const RUNS_PER_SEED_FILE = Number(process.env.FUZZ_RUNS ?? 1500);

function mutate(src: Uint8Array, rand: () => number): Uint8Array {
  const pick = (n: number): number => Math.floor(rand() * n);
  let b = Uint8Array.from(src);
  const edits = 1 + pick(4);
  for (let e = 0; e < edits; e++) {
    const at = pick(b.length);
    switch (pick(6)) {
      case 0: // flip one bit
        b[at] = (b[at] as number) ^ (1 << pick(8));
        break;
      case 1: // a random byte
        b[at] = pick(256);
        break;
      case 2: // an interesting value: 0, 0xff, or a length-like 0x7f/0x80
        b[at] = [0, 0xff, 0x7f, 0x80][pick(4)] as number;
        break;
      case 3: // overwrite a run with one byte
        b.fill(pick(256), at, at + 1 + pick(16));
        break;
      case 4: // truncate
        b = b.subarray(0, at);
        break;
      default: {
        // insert or delete a few bytes
        const n = 1 + pick(8);
        const inserted = rand() < 0.5 ? Uint8Array.from({ length: n }, () => pick(256)) : new Uint8Array(0);
        b = Uint8Array.from(
          Buffer.concat([b.subarray(0, at), inserted, b.subarray(inserted.length > 0 ? at : at + n)]),
        );
      }
    }
  }
  return b;
}

function seedTensors(): [string, SaveTensor][] {
  const rand = seededRandom(3);
  const f = (n: number): Float32Array => Float32Array.from({ length: n }, () => rand());
  return [
    ['conv.weight', ownTensor('0', [2, 3, 3, 3], f(54))],
    ['bn.running_var', ownTensor('1', [2], f(2))],
    ['bn.num_batches_tracked', ownTensor('2', [], BigInt64Array.of(7n))],
    [
      'fc.weight',
      { storage: { key: '3', dtype: 'float32', data: f(12) }, offset: 0, shape: [3, 4], stride: [1, 3] },
    ],
  ];
}

describe('readTorchCheckpoint on mutated files', () => {
  for (const format of ['zip', 'legacy'] as const) {
    it(`${format}: ${RUNS_PER_SEED_FILE} mutants, each read or refused with a typed error`, () => {
      const seed = torchSave(seedTensors(), { format });
      const rand = seededRandom(format === 'zip' ? 101 : 202);
      const outcomes = { read: 0, MODEL_INVALID: 0, MODEL_UNSUPPORTED: 0 };
      let slowest = 0;
      for (let run = 0; run < RUNS_PER_SEED_FILE; run++) {
        const bytes = mutate(seed, rand);
        const t = performance.now();
        try {
          readTorchCheckpoint(bytes);
          outcomes.read++;
        } catch (err) {
          if (!(err instanceof FaceVerifyError)) {
            throw new Error(
              `run ${run}: untyped ${String(err)} on ${Buffer.from(bytes).toString('base64')}`,
              {
                cause: err,
              },
            );
          }
          expect(['MODEL_INVALID', 'MODEL_UNSUPPORTED'], `run ${run}: ${err.message}`).toContain(err.code);
          outcomes[err.code as 'MODEL_INVALID' | 'MODEL_UNSUPPORTED']++;
        }
        slowest = Math.max(slowest, performance.now() - t);
      }
      if (process.env.FUZZ_RUNS) console.log(format, outcomes, slowest);
      // Both kinds of outcome happen, so the mutations reach past the first check.
      expect(outcomes.read).toBeGreaterThan(0);
      expect(outcomes.MODEL_INVALID).toBeGreaterThan(0);
    });
  }
});
