/**
 * A tiny `torch.save` for tests: writes a state_dict the way PyTorch does, in the zip format (default
 * since 1.6) or the legacy format, so the checkpoint reader can be tested without PyTorch and without
 * downloading weights. Shares no code with src/models/pytorch.
 *
 * Written from PyTorch's `torch/serialization.py` (`_save`, `_legacy_save`) and CPython's
 * `pickle.py` (`_Pickler`): protocol 2 as `torch.save` uses it (GLOBAL, BINPUT/BINGET memo, batched
 * SETITEMS, an OrderedDict by REDUCE with its `_metadata` by BUILD) or protocol 4 (FRAME,
 * SHORT_BINUNICODE, STACK_GLOBAL, MEMOIZE). Zip members are stored, with each member's data aligned to
 * 64 bytes through the local header's extra field, as PyTorch's writer does; `zip64` adds the ZIP64
 * end records PyTorch's writer emits.
 */

export type SaveDtype = 'float32' | 'int64';

/** A storage: one flat buffer that tensors view. */
export interface SaveStorage {
  key: string;
  dtype: SaveDtype;
  data: Float32Array | BigInt64Array;
}

/** A tensor as `_rebuild_tensor_v2` sees it: a storage, an element offset, a size and strides. */
export interface SaveTensor {
  storage: SaveStorage;
  offset: number;
  shape: number[];
  stride: number[];
}

export interface SaveOptions {
  format: 'zip' | 'legacy';
  protocol?: 2 | 4;
  /** Zip: the archive folder name (`archive` in new PyTorch, the file stem in older ones). */
  prefix?: string;
  zip64?: boolean;
}

/** Row-major strides of a shape. */
export function contiguousStrides(shape: number[]): number[] {
  const s = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = (s[i + 1] as number) * (shape[i + 1] as number);
  return s;
}

/** A tensor that owns a contiguous storage of its own. */
export function ownTensor(key: string, shape: number[], data: Float32Array | BigInt64Array): SaveTensor {
  const dtype: SaveDtype = data instanceof BigInt64Array ? 'int64' : 'float32';
  return { storage: { key, dtype, data }, offset: 0, shape, stride: contiguousStrides(shape) };
}

// ---------------------------------------------------------------------------------------------
// Pickle writer

const STORAGE_CLASS: Record<SaveDtype, string> = { float32: 'FloatStorage', int64: 'LongStorage' };

type Py =
  | null
  | boolean
  | number
  | bigint
  | string
  | { tuple: Py[] }
  | { global: [string, string] }
  | { pid: Py }
  | { reduce: Py; args: Py[] }
  | { dict: [string, Py][]; ordered?: boolean; state?: Py }
  | { list: Py[] };

class Pickler {
  private readonly out: number[] = [];
  private readonly memo = new Map<string, number>();

  constructor(private readonly protocol: 2 | 4) {}

  bytes(): Uint8Array {
    return Uint8Array.from(this.out);
  }

  private op(...b: number[]): void {
    for (const x of b) this.out.push(x);
  }

  private u32(v: number): void {
    this.op(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff);
  }

  private raw(bytes: Uint8Array): void {
    for (const x of bytes) this.out.push(x);
  }

  private put(key: string | null): void {
    const index = this.memo.size;
    if (key !== null) this.memo.set(key, index);
    else this.memo.set(`anon:${index}`, index);
    if (this.protocol === 4)
      this.op(0x94); // MEMOIZE
    else if (index < 256)
      this.op(0x71, index); // BINPUT
    else {
      this.op(0x72); // LONG_BINPUT
      this.u32(index);
    }
  }

  /** BINGET/LONG_BINGET of a memoised value; false when not memoised yet. */
  private get(key: string): boolean {
    const index = this.memo.get(key);
    if (index === undefined) return false;
    if (index < 256) this.op(0x68, index);
    else {
      this.op(0x6a);
      this.u32(index);
    }
    return true;
  }

  private str(s: string): void {
    if (this.get(`str:${s}`)) return;
    const b = new TextEncoder().encode(s);
    if (this.protocol === 4 && b.length < 256) this.op(0x8c, b.length);
    else {
      this.op(0x58);
      this.u32(b.length);
    }
    this.raw(b);
    this.put(`str:${s}`);
  }

  private int(v: number | bigint): void {
    const n = typeof v === 'bigint' ? v : BigInt(v);
    if (n >= 0n && n < 256n) this.op(0x4b, Number(n));
    else if (n >= 0n && n < 65536n) this.op(0x4d, Number(n) & 0xff, Number(n) >> 8);
    else if (n >= -(2n ** 31n) && n < 2n ** 31n) {
      this.op(0x4a);
      this.u32(Number(BigInt.asUintN(32, n)));
    } else {
      const bytes: number[] = [];
      let x = n;
      // Little-endian two's complement, as few bytes as keep the sign.
      for (;;) {
        bytes.push(Number(x & 0xffn));
        x >>= 8n;
        const signBit = ((bytes[bytes.length - 1] as number) & 0x80) !== 0;
        if ((x === 0n && !signBit) || (x === -1n && signBit)) break;
      }
      this.op(0x8a, bytes.length, ...bytes);
    }
  }

  save(v: Py): void {
    if (v === null) this.op(0x4e);
    else if (v === true) this.op(0x88);
    else if (v === false) this.op(0x89);
    else if (typeof v === 'number' || typeof v === 'bigint') this.int(v);
    else if (typeof v === 'string') this.str(v);
    else if ('tuple' in v) {
      const items = v.tuple;
      if (items.length === 0) {
        this.op(0x29);
        return; // the empty tuple is a singleton; Python does not memoise it
      }
      if (items.length <= 3) {
        for (const x of items) this.save(x);
        this.op([0x85, 0x86, 0x87][items.length - 1] as number);
      } else {
        this.op(0x28);
        for (const x of items) this.save(x);
        this.op(0x74);
      }
      this.put(null);
    } else if ('global' in v) {
      const [module, name] = v.global;
      const key = `global:${module}.${name}`;
      if (this.get(key)) return;
      if (this.protocol === 4) {
        this.str(module);
        this.str(name);
        this.op(0x93);
      } else {
        this.op(0x63);
        this.raw(new TextEncoder().encode(`${module}\n${name}\n`));
      }
      this.put(key);
    } else if ('pid' in v) {
      this.save(v.pid);
      this.op(0x51);
    } else if ('reduce' in v) {
      this.save(v.reduce);
      this.save({ tuple: v.args });
      this.op(0x52);
      this.put(null);
    } else if ('list' in v) {
      this.op(0x5d);
      this.put(null);
      this.batch(
        v.list.map((x) => [x]),
        0x61,
        0x65,
      );
    } else {
      if (v.ordered) {
        this.save({ global: ['collections', 'OrderedDict'] });
        this.op(0x29, 0x52); // EMPTY_TUPLE, REDUCE
      } else this.op(0x7d);
      this.put(null);
      this.batch(v.dict, 0x73, 0x75);
      if (v.state !== undefined) {
        this.save(v.state);
        this.op(0x62); // BUILD
      }
    }
  }

  /** Python's _batch_appends/_batch_setitems: groups of 1000, a single item without MARK. */
  private batch(items: Py[][], single: number, many: number): void {
    for (let i = 0; i < items.length; i += 1000) {
      const chunk = items.slice(i, i + 1000);
      if (chunk.length === 1) {
        for (const x of chunk[0] as Py[]) this.save(x);
        this.op(single);
      } else {
        this.op(0x28);
        for (const item of chunk) for (const x of item) this.save(x);
        this.op(many);
      }
    }
  }
}

function pickle(v: Py, protocol: 2 | 4): Uint8Array {
  const p = new Pickler(protocol);
  p.save(v);
  const body = p.bytes();
  // PROTO n … STOP; protocol 4 wraps the body in one FRAME with its 8-byte length.
  const head = protocol === 4 ? [0x80, 4, 0x95, ...u64(body.length + 1)] : [0x80, 2];
  return concat([Uint8Array.from(head), body, Uint8Array.of(0x2e)]);
}

function u64(v: number): number[] {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(v), true);
  return [...b];
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function storageBytes(s: SaveStorage): Uint8Array {
  return new Uint8Array(s.data.buffer, s.data.byteOffset, s.data.byteLength);
}

/** The state_dict object: an OrderedDict of tensors with the `_metadata` PyTorch attaches. */
function stateDictObject(tensors: [string, SaveTensor][], legacy: boolean): Py {
  const modules = [...new Set(tensors.map(([k]) => k.split('.').slice(0, -1).join('.')))];
  const metadata: Py = {
    dict: [
      ['', { dict: [['version', 1]] }],
      ...modules.map((m): [string, Py] => [m, { dict: [['version', 1]] }]),
    ],
    ordered: true,
  };
  const hooks: Py = { reduce: { global: ['collections', 'OrderedDict'] }, args: [] };
  return {
    ordered: true,
    dict: tensors.map(([name, t]): [string, Py] => {
      const s = t.storage;
      const pidItems: Py[] = [
        'storage',
        { global: ['torch', STORAGE_CLASS[s.dtype]] },
        s.key,
        'cpu',
        s.data.length,
      ];
      if (legacy) pidItems.push(null);
      return [
        name,
        {
          reduce: { global: ['torch._utils', '_rebuild_tensor_v2'] },
          args: [
            { pid: { tuple: pidItems } },
            t.offset,
            { tuple: t.shape },
            { tuple: t.stride },
            false,
            hooks,
          ],
        },
      ];
    }),
    state: { dict: [['_metadata', metadata]] },
  };
}

function storagesOf(tensors: [string, SaveTensor][]): SaveStorage[] {
  const byKey = new Map<string, SaveStorage>();
  for (const [, t] of tensors) byKey.set(t.storage.key, t.storage);
  return [...byKey.values()];
}

// ---------------------------------------------------------------------------------------------
// Containers

function legacy(tensors: [string, SaveTensor][], protocol: 2 | 4): Uint8Array {
  const storages = storagesOf(tensors).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const sysInfo: Py = {
    dict: [
      ['protocol_version', 1001],
      ['little_endian', true],
      [
        'type_sizes',
        {
          dict: [
            ['short', 2],
            ['int', 4],
            ['long', 4],
          ],
        },
      ],
    ],
  };
  const parts = [
    pickle(0x1950a86a20f9469cfc6cn, protocol),
    pickle(1001, protocol),
    pickle(sysInfo, protocol),
    pickle(stateDictObject(tensors, true), protocol),
    pickle({ list: storages.map((s) => s.key) }, protocol),
  ];
  for (const s of storages) {
    parts.push(Uint8Array.from(u64(s.data.length)), storageBytes(s));
  }
  return concat(parts);
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = (CRC_TABLE[(c ^ b) & 0xff] as number) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function zip(members: [string, Uint8Array][], zip64: boolean): Uint8Array {
  const parts: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  for (const [name, data] of members) {
    const nameBytes = new TextEncoder().encode(name);
    // Pad with an extra field (id "FB", as PyTorch) so the data starts at a multiple of 64.
    const pad = (64 - ((offset + 30 + nameBytes.length + 4) % 64)) % 64;
    const extra = new Uint8Array(4 + pad);
    new DataView(extra.buffer).setUint16(0, 0x4246, true);
    new DataView(extra.buffer).setUint16(2, pad, true);
    const crc = crc32(data);
    const local = new Uint8Array(30);
    const l = new DataView(local.buffer);
    l.setUint32(0, 0x04034b50, true);
    l.setUint16(4, 20, true);
    l.setUint32(14, crc, true);
    l.setUint32(18, data.length, true);
    l.setUint32(22, data.length, true);
    l.setUint16(26, nameBytes.length, true);
    l.setUint16(28, extra.length, true);
    const header = new Uint8Array(46);
    const c = new DataView(header.buffer);
    c.setUint32(0, 0x02014b50, true);
    c.setUint16(4, 20, true);
    c.setUint16(6, 20, true);
    c.setUint32(16, crc, true);
    c.setUint32(20, data.length, true);
    c.setUint32(24, data.length, true);
    c.setUint16(28, nameBytes.length, true);
    c.setUint32(42, offset, true);
    central.push(header, nameBytes);
    parts.push(local, nameBytes, extra, data);
    offset += 30 + nameBytes.length + extra.length + data.length;
  }
  const dirSize = central.reduce((a, p) => a + p.length, 0);
  const dirOffset = offset;
  parts.push(...central);
  if (zip64) {
    const z = new Uint8Array(56);
    const d = new DataView(z.buffer);
    d.setUint32(0, 0x06064b50, true);
    d.setBigUint64(4, 44n, true);
    d.setUint16(12, 45, true);
    d.setUint16(14, 45, true);
    d.setBigUint64(24, BigInt(members.length), true);
    d.setBigUint64(32, BigInt(members.length), true);
    d.setBigUint64(40, BigInt(dirSize), true);
    d.setBigUint64(48, BigInt(dirOffset), true);
    const locator = new Uint8Array(20);
    const ld = new DataView(locator.buffer);
    ld.setUint32(0, 0x07064b50, true);
    ld.setBigUint64(8, BigInt(dirOffset + dirSize), true);
    ld.setUint32(16, 1, true);
    parts.push(z, locator);
  }
  const end = new Uint8Array(22);
  const e = new DataView(end.buffer);
  e.setUint32(0, 0x06054b50, true);
  e.setUint16(8, zip64 ? 0xffff : members.length, true);
  e.setUint16(10, zip64 ? 0xffff : members.length, true);
  e.setUint32(12, zip64 ? 0xffffffff : dirSize, true);
  e.setUint32(16, zip64 ? 0xffffffff : dirOffset, true);
  parts.push(end);
  return concat(parts);
}

/**
 * Writes a state_dict checkpoint.
 *
 * @example
 * const bytes = torchSave([['fc.weight', ownTensor('0', [2, 3], new Float32Array(6))]], { format: 'zip' });
 */
export function torchSave(tensors: [string, SaveTensor][], options: SaveOptions): Uint8Array {
  const protocol = options.protocol ?? 2;
  if (options.format === 'legacy') return legacy(tensors, protocol);
  const prefix = options.prefix ?? 'archive';
  const members: [string, Uint8Array][] = [
    [`${prefix}/data.pkl`, pickle(stateDictObject(tensors, false), protocol)],
    [`${prefix}/byteorder`, new TextEncoder().encode('little')],
    ...storagesOf(tensors).map((s): [string, Uint8Array] => [`${prefix}/data/${s.key}`, storageBytes(s)]),
    [`${prefix}/version`, new TextEncoder().encode('3\n')],
  ];
  return zip(members, options.zip64 ?? false);
}
