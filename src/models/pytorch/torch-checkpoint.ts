/**
 * Reads a PyTorch checkpoint holding a `state_dict` (`torch.save(model.state_dict(), f)`) into plain
 * float32 tensors, without Python.
 *
 * Two container formats exist (PyTorch `torch/serialization.py`):
 * - **zip** (the default since PyTorch 1.6): a ZIP of stored members `<prefix>/data.pkl` (the pickle),
 *   `<prefix>/data/<key>` (each storage's raw little-endian bytes), `<prefix>/byteorder`, … where the
 *   prefix is `archive` or the file's stem. Persistent ids are
 *   `('storage', StorageType, key, location, numel)`.
 * - **legacy**: consecutive pickles — the magic number 0x1950a86a20f9469cfc6c, the protocol version
 *   1001, system info (`little_endian`, type sizes), the object, then the list of storage keys — and
 *   after them each listed storage as an int64 element count followed by its raw bytes. Persistent ids
 *   are `('storage', StorageType, root_key, location, numel, view_metadata)`.
 *
 * A tensor is `_rebuild_tensor_v2(storage, storage_offset, size, stride, …)`: element i₀…iₙ lives at
 * storage[offset + Σ iₖ·strideₖ]. Strides are honoured as written: checkpoints converted from other
 * frameworks keep non-contiguous views (facenet-pytorch's own MTCNN weights have conv kernels with
 * strides (1, 10, 30, 90)).
 *
 * Everything read from the file is checked: indices stay inside their storage, a tensor has no more
 * elements than its storage, sizes are bounded by the file, and only allow-listed globals are resolved
 * (see ./unpickler.ts). A malformed file is `MODEL_INVALID`; a valid one using features outside this
 * subset is `MODEL_UNSUPPORTED`.
 */
import { endianness } from 'node:os';
import { FaceVerifyError } from '../../errors.js';
import {
  describeValue,
  unpickle,
  type PyDict,
  type PyGlobal,
  type PyTuple,
  type PyValue,
  type UnpickleHandlers,
} from './unpickler.js';
import { looksLikeZip, readStoredZip } from './zip-entries.js';

export type TorchDtype =
  'float32' | 'float64' | 'float16' | 'bfloat16' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool';

/** A tensor of a state_dict, converted to float32 and laid out row-major (C order) by `shape`. */
export interface TorchTensor {
  shape: number[];
  /** The dtype in the file (the values are converted to float32). */
  dtype: TorchDtype;
  data: Float32Array;
}

export type StateDict = Map<string, TorchTensor>;

export type CheckpointFormat = 'zip' | 'legacy';

const STORAGE_TYPES: Record<string, { dtype: TorchDtype; size: number }> = {
  FloatStorage: { dtype: 'float32', size: 4 },
  DoubleStorage: { dtype: 'float64', size: 8 },
  HalfStorage: { dtype: 'float16', size: 2 },
  BFloat16Storage: { dtype: 'bfloat16', size: 2 },
  LongStorage: { dtype: 'int64', size: 8 },
  IntStorage: { dtype: 'int32', size: 4 },
  ShortStorage: { dtype: 'int16', size: 2 },
  CharStorage: { dtype: 'int8', size: 1 },
  ByteStorage: { dtype: 'uint8', size: 1 },
  BoolStorage: { dtype: 'bool', size: 1 },
};

const ALLOWED_GLOBALS: ReadonlySet<string> = new Set([
  'collections.OrderedDict',
  'torch._utils._rebuild_tensor',
  'torch._utils._rebuild_tensor_v2',
  'torch._utils._rebuild_parameter',
  ...Object.keys(STORAGE_TYPES).map((t) => `torch.${t}`),
]);

const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
const LEGACY_PROTOCOL = 1001;
/** The pickle of a real state_dict is well under 1 MiB; this bounds work on a hostile one. */
const MAX_PICKLE_BYTES = 64 * 1024 * 1024;
/** More dimensions than any real tensor. */
const MAX_DIMS = 16;

function invalid(message: string): FaceVerifyError {
  return new FaceVerifyError('MODEL_INVALID', `Invalid PyTorch checkpoint: ${message}`);
}

function unsupported(message: string): FaceVerifyError {
  return new FaceVerifyError('MODEL_UNSUPPORTED', `Unsupported PyTorch checkpoint: ${message}`);
}

/** The raw bytes of one storage (`bytes` is filled when the storage is found in the file). */
class RootStorage {
  bytes: Uint8Array | null = null;
  private values: Float32Array | null = null;
  constructor(
    readonly key: string,
    readonly dtype: TorchDtype,
    readonly elementSize: number,
    readonly numel: number,
  ) {}

  /** All elements as float32 (converted once, shared by the tensors that view this storage). */
  float32(): Float32Array {
    if (this.values) return this.values;
    if (!this.bytes) throw invalid(`storage "${this.key}" has no data in the file`);
    this.values = toFloat32(this.bytes, this.dtype, this.numel);
    return this.values;
  }
}

/** A storage as a tensor sees it: a root storage, or (legacy) a view of one at an element offset. */
class StorageRef {
  constructor(
    readonly root: RootStorage,
    readonly offset: number,
    readonly numel: number,
  ) {}
}

class TensorRef {
  constructor(
    readonly storage: StorageRef,
    readonly offset: number,
    readonly shape: number[],
    readonly stride: number[],
  ) {}
}

function toFloat32(bytes: Uint8Array, dtype: TorchDtype, numel: number): Float32Array {
  // A copy: aligned for the typed-array views, and independent of the (large) file buffer.
  // (`new Uint8Array(view)` copies; a Node Buffer's own `slice` would not.)
  const buf = new Uint8Array(bytes).buffer;
  switch (dtype) {
    case 'float32':
      return new Float32Array(buf);
    case 'float64':
      return Float32Array.from(new Float64Array(buf));
    case 'int64':
      return Float32Array.from(new BigInt64Array(buf), (v) => Number(v));
    case 'int32':
      return Float32Array.from(new Int32Array(buf));
    case 'int16':
      return Float32Array.from(new Int16Array(buf));
    case 'int8':
      return Float32Array.from(new Int8Array(buf));
    case 'uint8':
    case 'bool':
      return Float32Array.from(new Uint8Array(buf));
    case 'bfloat16': {
      const bits = new Uint32Array(numel);
      const half = new Uint16Array(buf);
      for (let i = 0; i < numel; i++) bits[i] = (half[i] as number) << 16;
      return new Float32Array(bits.buffer);
    }
    case 'float16': {
      const half = new Uint16Array(buf);
      return Float32Array.from(half, halfToFloat);
    }
  }
}

/** IEEE 754 binary16 → number. */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

function isTuple(v: PyValue): v is PyTuple {
  return typeof v === 'object' && v !== null && v.type === 'tuple';
}

function isDict(v: PyValue): v is PyDict {
  return typeof v === 'object' && v !== null && v.type === 'dict';
}

function safeInt(v: PyValue, what: string, min = 0): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) {
    throw invalid(`${what} is not an integer ≥ ${min} (${describeValue(v)})`);
  }
  return v;
}

function ints(v: PyValue, what: string): number[] {
  if (!isTuple(v)) throw invalid(`${what} is not a tuple`);
  if (v.items.length > MAX_DIMS) throw unsupported(`${what} has ${v.items.length} dimensions`);
  return v.items.map((x) => safeInt(x, what));
}

function storageType(v: PyValue): { dtype: TorchDtype; size: number } {
  const t = typeof v === 'object' && v !== null && v.type === 'global' ? STORAGE_TYPES[v.name] : undefined;
  if (!t || (v as PyGlobal).module !== 'torch') throw invalid(`not a storage type: ${describeValue(v)}`);
  return t;
}

function rebuildTensor(args: readonly PyValue[]): PyValue {
  const [storage, offset, size, stride] = args;
  if (typeof storage !== 'object' || storage === null || storage.type !== 'external') {
    throw invalid('a tensor without a storage');
  }
  if (!(storage.value instanceof StorageRef)) throw invalid('a tensor without a storage');
  const shape = ints(size ?? null, 'a tensor size');
  const strides = ints(stride ?? null, 'a tensor stride');
  if (shape.length !== strides.length) throw invalid('tensor size and stride differ in length');
  const t = new TensorRef(storage.value, safeInt(offset ?? null, 'a storage offset'), shape, strides);
  checkBounds(t);
  return { type: 'external', value: t };
}

/** Every element of the tensor must lie inside its storage; expanded (stride 0) views are refused. */
function checkBounds(t: TensorRef): void {
  let numel = 1;
  let last = t.offset;
  t.shape.forEach((n, i) => {
    numel *= n;
    if (n > 0) last += (n - 1) * (t.stride[i] as number);
  });
  if (!Number.isSafeInteger(numel) || !Number.isSafeInteger(last)) throw invalid('tensor too large');
  if (numel === 0) return;
  if (last >= t.storage.numel || numel > t.storage.numel) {
    throw invalid(`a tensor of shape [${t.shape.join(', ')}] does not fit its storage of ${t.storage.numel}`);
  }
}

function reduce(callable: PyGlobal, args: PyTuple): PyValue {
  const key = `${callable.module}.${callable.name}`;
  const a = args.items;
  switch (key) {
    case 'collections.OrderedDict':
      if (a.length !== 0) throw unsupported('OrderedDict built from arguments');
      return { type: 'dict', entries: new Map() };
    case 'torch._utils._rebuild_tensor_v2':
      // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
      if (a.length < 6 || a.length > 7) throw invalid(`_rebuild_tensor_v2 with ${a.length} arguments`);
      return rebuildTensor(a);
    case 'torch._utils._rebuild_tensor':
      if (a.length !== 4) throw invalid(`_rebuild_tensor with ${a.length} arguments`);
      return rebuildTensor(a);
    case 'torch._utils._rebuild_parameter': {
      // (data, requires_grad, backward_hooks): a Parameter is its tensor for our purposes.
      const data = a[0];
      if (a.length !== 3 || typeof data !== 'object' || data === null || data.type !== 'external') {
        throw invalid('_rebuild_parameter without a tensor');
      }
      return data;
    }
    default:
      throw unsupported(`calling ${key}`);
  }
}

/** Turns the unpickled top-level dict into the state_dict. */
function materialize(top: PyValue): StateDict {
  if (!isDict(top)) throw invalid(`the checkpoint holds a ${describeValue(top)}, not a state_dict`);
  const out: StateDict = new Map();
  for (const [name, value] of top.entries) {
    if (typeof name !== 'string') throw invalid('a state_dict key is not a string');
    if (typeof value !== 'object' || value === null || value.type !== 'external') {
      throw invalid(`"${name}" is a ${describeValue(value)}, not a tensor`);
    }
    const t = value.value;
    if (!(t instanceof TensorRef)) throw invalid(`"${name}" is not a tensor`);
    out.set(name, { shape: t.shape, dtype: t.storage.root.dtype, data: gather(t) });
  }
  return out;
}

/** Copies a tensor's elements out of its storage into row-major order. */
function gather(t: TensorRef): Float32Array {
  const values = t.storage.root.float32();
  const base = t.storage.offset + t.offset;
  const numel = t.shape.reduce((a, b) => a * b, 1);
  let contiguous = true;
  let expected = 1;
  for (let i = t.shape.length - 1; i >= 0; i--) {
    if ((t.shape[i] as number) > 1 && t.stride[i] !== expected) contiguous = false;
    expected *= t.shape[i] as number;
  }
  if (contiguous) return values.slice(base, base + numel);
  const out = new Float32Array(numel);
  const dims = t.shape.length;
  const index = new Array<number>(dims).fill(0);
  let src = base;
  for (let i = 0; i < numel; i++) {
    out[i] = values[src] as number;
    // Odometer over the indices, last dimension fastest.
    for (let d = dims - 1; d >= 0; d--) {
      const stride = t.stride[d] as number;
      if ((index[d] as number) + 1 < (t.shape[d] as number)) {
        index[d] = (index[d] as number) + 1;
        src += stride;
        break;
      }
      src -= (index[d] as number) * stride;
      index[d] = 0;
    }
  }
  return out;
}

/** Which container a checkpoint uses (without reading it). */
export function checkpointFormat(bytes: Uint8Array): CheckpointFormat {
  if (looksLikeZip(bytes)) return 'zip';
  // Legacy: a pickle (PROTO 2 or later) of the magic number, checked when it is read.
  if (bytes.length > 2 && bytes[0] === 0x80 && (bytes[1] as number) >= 2) return 'legacy';
  throw invalid('neither a zip nor a legacy PyTorch file');
}

function handlers(persistentLoad: (pid: PyValue) => PyValue): UnpickleHandlers {
  return { globals: ALLOWED_GLOBALS, reduce, persistentLoad };
}

function readZip(bytes: Uint8Array): StateDict {
  const entries = readStoredZip(bytes);
  const pickles = [...entries.keys()].filter((n) => /^([^/]+\/)?data\.pkl$/.test(n));
  if (pickles.length !== 1) throw invalid(`expected one data.pkl, found ${pickles.length}`);
  const pklName = pickles[0] as string;
  const prefix = pklName.slice(0, pklName.length - 'data.pkl'.length);
  const order = entries.get(`${prefix}byteorder`);
  if (order && new TextDecoder().decode(order.data).trim() !== 'little') {
    throw unsupported('big-endian tensor data');
  }
  const pkl = entries.get(pklName);
  if (!pkl?.stored) throw unsupported('a compressed data.pkl');
  if (pkl.data.length > MAX_PICKLE_BYTES) throw invalid('data.pkl is too large');
  const roots = new Map<string, StorageRef>();
  const { value } = unpickle(
    pkl.data,
    0,
    handlers((pid) => {
      if (!isTuple(pid) || pid.items.length !== 5 || pid.items[0] !== 'storage') {
        throw invalid(`unexpected persistent id (${describeValue(pid)})`);
      }
      const [, typ, key, , numelValue] = pid.items;
      const { dtype, size } = storageType(typ ?? null);
      if (typeof key !== 'string') throw invalid('a storage key is not a string');
      const numel = safeInt(numelValue ?? null, 'a storage size');
      let ref = roots.get(key);
      if (!ref) {
        const entry = entries.get(`${prefix}data/${key}`);
        if (!entry) throw invalid(`storage "${key}" is missing`);
        if (!entry.stored) throw unsupported(`storage "${key}" is compressed`);
        if (entry.data.length !== numel * size) {
          throw invalid(`storage "${key}" has ${entry.data.length} bytes, not ${numel} × ${size}`);
        }
        const root = new RootStorage(key, dtype, size, numel);
        root.bytes = entry.data;
        ref = new StorageRef(root, 0, numel);
        roots.set(key, ref);
      } else if (ref.root.dtype !== dtype || ref.numel !== numel) {
        throw invalid(`storage "${key}" is used with two types or sizes`);
      }
      return { type: 'external', value: ref };
    }),
  );
  return materialize(value);
}

function readLegacy(bytes: Uint8Array): StateDict {
  const bounded = bytes.subarray(0, Math.min(bytes.length, MAX_PICKLE_BYTES));
  const plain = handlers(() => {
    throw invalid('a persistent id in a header pickle');
  });
  const magic = unpickle(bounded, 0, plain);
  if (magic.value !== LEGACY_MAGIC) throw invalid('wrong magic number');
  const protocol = unpickle(bounded, magic.end, plain);
  if (protocol.value !== LEGACY_PROTOCOL)
    throw unsupported(`legacy protocol ${describeValue(protocol.value)}`);
  const sysInfo = unpickle(bounded, protocol.end, plain);
  if (!isDict(sysInfo.value)) throw invalid('system info is not a dict');
  if (sysInfo.value.entries.get('little_endian') !== true) throw unsupported('big-endian tensor data');

  const roots = new Map<string, RootStorage>();
  const views = new Map<string, StorageRef>();
  const main = unpickle(
    bounded,
    sysInfo.end,
    handlers((pid) => {
      if (!isTuple(pid) || pid.items.length !== 6 || pid.items[0] !== 'storage') {
        throw invalid(`unexpected persistent id (${describeValue(pid)})`);
      }
      const [, typ, key, , numelValue, viewMetadata] = pid.items;
      const { dtype, size } = storageType(typ ?? null);
      if (typeof key !== 'string') throw invalid('a storage key is not a string');
      const numel = safeInt(numelValue ?? null, 'a storage size');
      // Every storage's bytes follow the pickles, so none can be larger than the file.
      if (numel * size > bytes.length) throw invalid(`storage "${key}" is larger than the file`);
      let root = roots.get(key);
      if (!root) {
        root = new RootStorage(key, dtype, size, numel);
        roots.set(key, root);
      } else if (root.dtype !== dtype || root.numel !== numel) {
        throw invalid(`storage "${key}" is used with two types or sizes`);
      }
      if (viewMetadata === null || viewMetadata === undefined) {
        return { type: 'external', value: new StorageRef(root, 0, numel) };
      }
      // (view_key, offset, view_size): a slice of the root storage, shared by key.
      if (!isTuple(viewMetadata) || viewMetadata.items.length !== 3) throw invalid('bad storage view');
      const [viewKey, offsetValue, viewSizeValue] = viewMetadata.items;
      if (typeof viewKey !== 'string') throw invalid('a storage view key is not a string');
      const offset = safeInt(offsetValue ?? null, 'a storage view offset');
      const viewSize = safeInt(viewSizeValue ?? null, 'a storage view size');
      if (offset + viewSize > numel) throw invalid(`storage view "${viewKey}" exceeds its storage`);
      let view = views.get(viewKey);
      if (!view) {
        view = new StorageRef(root, offset, viewSize);
        views.set(viewKey, view);
      }
      return { type: 'external', value: view };
    }),
  );
  const keys = unpickle(bounded, main.end, plain);
  const list = keys.value;
  if (typeof list !== 'object' || list === null || list.type !== 'list') {
    throw invalid('the storage key list is missing');
  }
  let pos = keys.end;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (const key of list.items) {
    if (typeof key !== 'string') throw invalid('a storage key is not a string');
    const root = roots.get(key);
    if (!root) throw invalid(`storage "${key}" is listed but never used`);
    if (root.bytes) throw invalid(`storage "${key}" is listed twice`);
    if (pos + 8 > bytes.length) throw invalid('truncated before a storage');
    const count = view.getBigInt64(pos, true);
    if (count !== BigInt(root.numel)) {
      throw invalid(`storage "${key}" has ${count} elements in the file, ${root.numel} in the pickle`);
    }
    pos += 8;
    const length = root.numel * root.elementSize;
    if (pos + length > bytes.length) throw invalid(`storage "${key}" is truncated`);
    root.bytes = bytes.subarray(pos, pos + length);
    pos += length;
  }
  return materialize(main.value);
}

/**
 * Reads the tensors of a PyTorch `state_dict` checkpoint (zip or legacy format).
 *
 * @example
 * const state = readTorchCheckpoint(await readFile('20180402-114759-vggface2.pt'));
 * state.get('conv2d_1a.conv.weight')?.shape; // [32, 3, 3, 3]
 */
export function readTorchCheckpoint(bytes: Uint8Array): StateDict {
  if (endianness() !== 'LE') throw unsupported('reading checkpoints on a big-endian machine');
  return checkpointFormat(bytes) === 'zip' ? readZip(bytes) : readLegacy(bytes);
}
