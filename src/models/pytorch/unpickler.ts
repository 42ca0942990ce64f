/**
 * The subset of Python's pickle format that a PyTorch `state_dict` uses, and nothing more.
 *
 * Source: CPython `Lib/pickle.py` and `Lib/pickletools.py` (opcode table, protocols 2–5). `torch.save`
 * writes protocol 2: an `OrderedDict` rebuilt by REDUCE, tensors rebuilt by REDUCE of
 * `torch._utils._rebuild_tensor_v2` over a persistent id naming the raw storage, and BUILD to attach
 * the `_metadata` attribute.
 *
 * Safety: a pickle is a program. This one runs no Python: a GLOBAL resolves only names the caller
 * allow-lists (anything else is refused), REDUCE and BUILD call only the caller's handlers, and every
 * opcode outside the subset is refused. Each opcode consumes at least one byte, so a run is linear in
 * the input; the number of objects created is bounded, so a small hostile file cannot exhaust memory.
 * Every malformation is a `MODEL_INVALID` error; a well-formed pickle outside the subset is
 * `MODEL_UNSUPPORTED`.
 */
import { FaceVerifyError } from '../../errors.js';

/** A Python tuple (immutable). */
export interface PyTuple {
  type: 'tuple';
  items: readonly PyValue[];
}

export interface PyList {
  type: 'list';
  items: PyValue[];
}

/** A dict or OrderedDict; keys are str or int (all a state_dict needs). */
export interface PyDict {
  type: 'dict';
  entries: Map<string | number, PyValue>;
  /** The state given by BUILD (for a state_dict: `{ _metadata: … }`), if any. */
  state?: PyValue;
}

/** A module-level name resolved through the allow-list (for example `torch.FloatStorage`). */
export interface PyGlobal {
  type: 'global';
  module: string;
  name: string;
}

/** An object made by one of the caller's handlers (a storage, a tensor). */
export interface PyExternal {
  type: 'external';
  value: object;
}

export type PyValue =
  null | boolean | number | bigint | string | PyTuple | PyList | PyDict | PyGlobal | PyExternal;

export interface UnpickleHandlers {
  /** Allowed globals as `module.name`; any other GLOBAL is refused. */
  globals: ReadonlySet<string>;
  /** REDUCE: calls an allowed global with its arguments. */
  reduce: (callable: PyGlobal, args: PyTuple) => PyValue;
  /** BINPERSID: resolves a persistent id (PyTorch: a storage). */
  persistentLoad?: (pid: PyValue) => PyValue;
  /** Most objects (containers, strings, memo entries) one pickle may create. */
  maxObjects?: number;
}

export interface UnpickleResult {
  value: PyValue;
  /** Offset just past the STOP opcode (the next pickle starts there in legacy checkpoints). */
  end: number;
}

const DEFAULT_MAX_OBJECTS = 2_000_000;
const MAX_GLOBAL_NAME = 256;
const MAX_LONG_BYTES = 32;

const OP = {
  MARK: 0x28, // (
  STOP: 0x2e, // .
  EMPTY_TUPLE: 0x29, // )
  BINPERSID: 0x51, // Q
  REDUCE: 0x52, // R
  BINUNICODE: 0x58, // X
  EMPTY_LIST: 0x5d, // ]
  APPEND: 0x61, // a
  BUILD: 0x62, // b
  GLOBAL: 0x63, // c
  APPENDS: 0x65, // e
  BINGET: 0x68, // h
  BININT: 0x4a, // J
  LONG_BINGET: 0x6a, // j
  BININT1: 0x4b, // K
  BININT2: 0x4d, // M
  NONE: 0x4e, // N
  BINPUT: 0x71, // q
  LONG_BINPUT: 0x72, // r
  SETITEM: 0x73, // s
  TUPLE: 0x74, // t
  SETITEMS: 0x75, // u
  EMPTY_DICT: 0x7d, // }
  PROTO: 0x80,
  TUPLE1: 0x85,
  TUPLE2: 0x86,
  TUPLE3: 0x87,
  NEWTRUE: 0x88,
  NEWFALSE: 0x89,
  LONG1: 0x8a,
  SHORT_BINUNICODE: 0x8c,
  STACK_GLOBAL: 0x93,
  MEMOIZE: 0x94,
  FRAME: 0x95,
} as const;

function invalid(message: string): FaceVerifyError {
  return new FaceVerifyError('MODEL_INVALID', `Invalid checkpoint pickle: ${message}`);
}

function unsupported(message: string): FaceVerifyError {
  return new FaceVerifyError('MODEL_UNSUPPORTED', `Unsupported checkpoint pickle: ${message}`);
}

/** A short description of a value for error messages. */
export function describeValue(v: PyValue): string {
  if (v === null) return 'None';
  if (typeof v === 'object') return v.type === 'global' ? `${v.module}.${v.name}` : v.type;
  return typeof v;
}

/**
 * Runs one pickle starting at `start` and returns the object it builds.
 *
 * @example
 * const { value, end } = unpickle(bytes, 0, { globals: new Set(['collections.OrderedDict']), reduce });
 */
export function unpickle(bytes: Uint8Array, start: number, handlers: UnpickleHandlers): UnpickleResult {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  const maxObjects = handlers.maxObjects ?? DEFAULT_MAX_OBJECTS;
  let objects = 0;
  let pos = start;
  let stack: PyValue[] = [];
  const metastack: PyValue[][] = [];
  const memo = new Map<number, PyValue>();

  const created = (): void => {
    if (++objects > maxObjects) throw invalid(`more than ${maxObjects} objects`);
  };
  const need = (n: number): number => {
    if (pos + n > bytes.length) throw invalid('truncated');
    const at = pos;
    pos += n;
    return at;
  };
  const pop = (): PyValue => {
    if (stack.length === 0) throw invalid('stack underflow');
    return stack.pop() as PyValue;
  };
  const top = (): PyValue => {
    if (stack.length === 0) throw invalid('stack underflow');
    return stack[stack.length - 1] as PyValue;
  };
  const popMark = (): PyValue[] => {
    const items = stack;
    const previous = metastack.pop();
    if (!previous) throw invalid('no MARK on the stack');
    stack = previous;
    return items;
  };
  const text = (n: number): string => {
    const at = need(n);
    created();
    try {
      return utf8.decode(bytes.subarray(at, at + n));
    } catch {
      throw invalid('a string is not valid UTF-8');
    }
  };
  const line = (): string => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0 || end - pos > MAX_GLOBAL_NAME) throw invalid('bad GLOBAL name');
    let s = '';
    for (let i = pos; i < end; i++) {
      const ch = bytes[i] as number;
      if (ch < 0x20 || ch > 0x7e) throw invalid('bad GLOBAL name');
      s += String.fromCharCode(ch);
    }
    pos = end + 1;
    return s;
  };
  const global = (module: string, name: string): PyGlobal => {
    if (!handlers.globals.has(`${module}.${name}`)) {
      throw unsupported(`refusing the global ${module}.${name} (not on the allow-list)`);
    }
    created();
    return { type: 'global', module, name };
  };
  const tuple = (items: PyValue[]): PyTuple => {
    created();
    return { type: 'tuple', items };
  };
  const put = (index: number): void => {
    created();
    memo.set(index, top());
  };
  const get = (index: number): void => {
    const v = memo.get(index);
    if (v === undefined) throw invalid(`memo entry ${index} is missing`);
    stack.push(v);
  };
  const setItems = (dict: PyValue, items: PyValue[]): void => {
    if (typeof dict !== 'object' || dict === null || dict.type !== 'dict') {
      throw invalid(`SETITEM(S) on ${describeValue(dict)}`);
    }
    if (items.length % 2 !== 0) throw invalid('SETITEMS with an odd number of items');
    for (let i = 0; i < items.length; i += 2) {
      const key = items[i] as PyValue;
      if (typeof key !== 'string' && typeof key !== 'number') {
        throw unsupported(`a dict key of type ${describeValue(key)}`);
      }
      dict.entries.set(key, items[i + 1] as PyValue);
    }
  };
  const append = (list: PyValue, items: PyValue[]): void => {
    if (typeof list !== 'object' || list === null || list.type !== 'list') {
      throw invalid(`APPEND(S) on ${describeValue(list)}`);
    }
    for (const item of items) list.items.push(item);
  };

  for (;;) {
    const op = bytes[need(1)] as number;
    switch (op) {
      case OP.PROTO: {
        const v = bytes[need(1)] as number;
        if (v < 2 || v > 5) throw unsupported(`pickle protocol ${v}`);
        break;
      }
      case OP.FRAME:
        need(8); // Frames only group opcodes for buffered readers; the whole pickle is in memory.
        break;
      case OP.STOP: {
        const value = pop();
        if (metastack.length > 0) throw invalid('MARK without its closing opcode');
        return { value, end: pos };
      }
      case OP.MARK:
        created();
        metastack.push(stack);
        stack = [];
        break;
      case OP.EMPTY_DICT:
        created();
        stack.push({ type: 'dict', entries: new Map() });
        break;
      case OP.EMPTY_LIST:
        created();
        stack.push({ type: 'list', items: [] });
        break;
      case OP.EMPTY_TUPLE:
        stack.push(tuple([]));
        break;
      case OP.TUPLE: {
        const items = popMark(); // before `stack` is read: popMark replaces it
        stack.push(tuple(items));
        break;
      }
      case OP.TUPLE1: {
        const a = pop();
        stack.push(tuple([a]));
        break;
      }
      case OP.TUPLE2: {
        const b = pop();
        const a = pop();
        stack.push(tuple([a, b]));
        break;
      }
      case OP.TUPLE3: {
        const c = pop();
        const b = pop();
        const a = pop();
        stack.push(tuple([a, b, c]));
        break;
      }
      case OP.NONE:
        stack.push(null);
        break;
      case OP.NEWTRUE:
        stack.push(true);
        break;
      case OP.NEWFALSE:
        stack.push(false);
        break;
      case OP.BININT:
        stack.push(view.getInt32(need(4), true));
        break;
      case OP.BININT1:
        stack.push(bytes[need(1)] as number);
        break;
      case OP.BININT2:
        stack.push(view.getUint16(need(2), true));
        break;
      case OP.LONG1: {
        const n = bytes[need(1)] as number;
        if (n > MAX_LONG_BYTES) throw unsupported(`an integer of ${n} bytes`);
        const at = need(n);
        let v = 0n;
        for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[at + i] as number);
        if (n > 0 && ((bytes[at + n - 1] as number) & 0x80) !== 0) v -= 1n << BigInt(8 * n);
        const small = v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER);
        stack.push(small ? Number(v) : v);
        break;
      }
      case OP.BINUNICODE:
        stack.push(text(view.getUint32(need(4), true)));
        break;
      case OP.SHORT_BINUNICODE:
        stack.push(text(bytes[need(1)] as number));
        break;
      case OP.GLOBAL: {
        const module = line();
        const name = line();
        stack.push(global(module, name));
        break;
      }
      case OP.STACK_GLOBAL: {
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string')
          throw invalid('STACK_GLOBAL of non-strings');
        stack.push(global(module, name));
        break;
      }
      case OP.BINPERSID: {
        const pid = pop();
        if (!handlers.persistentLoad) throw unsupported('persistent ids');
        stack.push(handlers.persistentLoad(pid));
        break;
      }
      case OP.REDUCE: {
        const args = pop();
        const callable = pop();
        if (typeof callable !== 'object' || callable === null || callable.type !== 'global') {
          throw invalid(`REDUCE of ${describeValue(callable)}`);
        }
        if (typeof args !== 'object' || args === null || args.type !== 'tuple') {
          throw invalid(`REDUCE with arguments of type ${describeValue(args)}`);
        }
        created();
        stack.push(handlers.reduce(callable, args));
        break;
      }
      case OP.BUILD: {
        const state = pop();
        const obj = top();
        if (typeof obj !== 'object' || obj === null || obj.type !== 'dict') {
          throw unsupported(`BUILD of ${describeValue(obj)}`);
        }
        obj.state = state;
        break;
      }
      case OP.SETITEM: {
        const value = pop();
        const key = pop();
        setItems(top(), [key, value]);
        break;
      }
      case OP.SETITEMS: {
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case OP.APPEND: {
        const value = pop();
        append(top(), [value]);
        break;
      }
      case OP.APPENDS: {
        const items = popMark();
        append(top(), items);
        break;
      }
      case OP.BINGET:
        get(bytes[need(1)] as number);
        break;
      case OP.LONG_BINGET:
        get(view.getUint32(need(4), true));
        break;
      case OP.BINPUT:
        put(bytes[need(1)] as number);
        break;
      case OP.LONG_BINPUT:
        put(view.getUint32(need(4), true));
        break;
      case OP.MEMOIZE:
        put(memo.size);
        break;
      default:
        throw unsupported(`opcode 0x${op.toString(16).padStart(2, '0')} at offset ${pos - 1}`);
    }
  }
}
