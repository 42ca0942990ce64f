/**
 * The unpickler subset on hand-assembled pickles (opcodes from CPython's pickletools): integer
 * encodings, memo, marks; and that it never calls a global it was not given, even when the pickle
 * is the classic `os.system` exploit. A sign error in LONG1/BININT or a memo off-by-one fails here.
 */
import { describe, expect, it } from 'vitest';
import { FaceVerifyError } from '../../../../src/errors.js';
import {
  unpickle,
  type PyGlobal,
  type PyTuple,
  type UnpickleHandlers,
} from '../../../../src/models/pytorch/unpickler.js';

const enc = (s: string): number[] => [...Buffer.from(s, 'latin1')];
const u32 = (n: number): number[] => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
const str = (s: string): number[] => [0x58, ...u32(Buffer.byteLength(s)), ...Buffer.from(s)];

function run(bytes: number[], handlers: Partial<UnpickleHandlers> = {}): unknown {
  const calls: string[] = [];
  const h: UnpickleHandlers = {
    globals: new Set(['collections.OrderedDict']),
    reduce: (g: PyGlobal, args: PyTuple) => {
      calls.push(`${g.module}.${g.name}(${args.items.length})`);
      return { type: 'dict', entries: new Map() };
    },
    ...handlers,
  };
  return unpickle(Uint8Array.from(bytes), 0, h).value;
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof FaceVerifyError) return err.code;
    throw err;
  }
  return 'no error';
}

describe('unpickle', () => {
  it('decodes the integer opcodes, signs included', () => {
    const ints = (op: number[]): unknown => run([0x80, 2, ...op, 0x2e]);
    expect(ints([0x4b, 0xff])).toBe(255); // BININT1
    expect(ints([0x4d, 0xe9, 0x03])).toBe(1001); // BININT2
    expect(ints([0x4a, ...u32(-5 >>> 0)])).toBe(-5); // BININT
    expect(ints([0x8a, 0x02, 0x00, 0x80])).toBe(-32768); // LONG1, negative
    expect(ints([0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19])).toBe(
      0x1950a86a20f9469cfc6cn, // PyTorch's legacy magic number
    );
    expect(ints([0x8a, 0x00])).toBe(0);
  });

  it('builds tuples, lists and dicts with MARK, the memo and SETITEMS/APPENDS', () => {
    // {'a': [1, 2, 'x'], 'b': (True, False, None), 'c': <memo 1: the list>}
    const value = run([
      0x80,
      2,
      0x7d,
      0x71,
      0,
      0x28,
      ...str('a'),
      0x5d,
      0x71,
      1,
      0x28,
      0x4b,
      1,
      0x4b,
      2,
      ...str('x'),
      0x65,
      ...str('b'),
      0x88,
      0x89,
      0x4e,
      0x87,
      ...str('c'),
      0x68,
      1,
      0x75,
      0x2e,
    ]);
    expect(value).toMatchObject({ type: 'dict' });
    const d = value as { entries: Map<string, unknown> };
    expect(d.entries.get('a')).toEqual({ type: 'list', items: [1, 2, 'x'] });
    expect(d.entries.get('b')).toEqual({ type: 'tuple', items: [true, false, null] });
    expect(d.entries.get('c')).toBe(d.entries.get('a'));
  });

  it('runs protocol 4 framing, SHORT_BINUNICODE, STACK_GLOBAL and MEMOIZE', () => {
    const body = [
      0x8c,
      11,
      ...enc('collections'),
      0x94,
      0x8c,
      11,
      ...enc('OrderedDict'),
      0x94,
      0x93,
      0x94,
      0x29,
      0x52,
      0x2e,
    ];
    const value = run([0x80, 4, 0x95, ...u32(body.length), 0, 0, 0, 0, ...body]);
    expect(value).toMatchObject({ type: 'dict' });
  });

  it('never calls a global that is not allow-listed: os.system is refused before REDUCE', () => {
    let called = false;
    const exploit = [0x80, 2, 0x63, ...enc('os\nsystem\n'), ...str('touch /tmp/pwned'), 0x85, 0x52, 0x2e];
    const code = codeOf(() =>
      run(exploit, {
        reduce: () => {
          called = true;
          return null;
        },
      }),
    );
    expect(code).toBe('MODEL_UNSUPPORTED');
    expect(called).toBe(false);
    // The same through STACK_GLOBAL.
    expect(codeOf(() => run([0x80, 4, ...str('os'), ...str('system'), 0x93, 0x2e]))).toBe(
      'MODEL_UNSUPPORTED',
    );
  });

  it('malformed pickles are MODEL_INVALID: underflow, missing memo, unclosed MARK, bad UTF-8, no STOP', () => {
    expect(codeOf(() => run([0x80, 2, 0x52, 0x2e]))).toBe('MODEL_INVALID');
    expect(codeOf(() => run([0x80, 2, 0x68, 9, 0x2e]))).toBe('MODEL_INVALID');
    expect(codeOf(() => run([0x80, 2, 0x28, 0x4e, 0x2e]))).toBe('MODEL_INVALID');
    expect(codeOf(() => run([0x80, 2, 0x58, 1, 0, 0, 0, 0xff, 0x2e]))).toBe('MODEL_INVALID');
    expect(codeOf(() => run([0x80, 2, 0x4e]))).toBe('MODEL_INVALID');
    expect(codeOf(() => run([0x80, 2, 0x58, 0xff, 0xff, 0xff, 0xff]))).toBe('MODEL_INVALID');
  });

  it('bounds the objects one pickle may create (a tiny file cannot exhaust memory)', () => {
    const bomb = [0x80, 2, ...Array<number>(10_000).fill(0x5d), 0x2e]; // 10,000 × EMPTY_LIST
    expect(codeOf(() => run(bomb, { maxObjects: 1000 }))).toBe('MODEL_INVALID');
  });
});
