/**
 * The entries of a ZIP archive whose members are stored uncompressed, as PyTorch writes its
 * checkpoints (`torch.save` since 1.6: method 0 "stored", data aligned to 64 bytes by padding the
 * local header's extra field, ZIP64 records where sizes need them).
 *
 * Source: PKWARE APPNOTE.TXT 6.3 (sections 4.3.7 local header, 4.3.12 central directory header,
 * 4.3.14–4.3.16 ZIP64 end of central directory and its locator, 4.5.3 ZIP64 extra field).
 *
 * We read the central directory ourselves rather than take a zip library: we need only byte ranges
 * of stored members (returned as views, nothing copied or inflated), and every offset and length
 * here is checked against the buffer, so a hostile archive cannot make us read out of bounds,
 * allocate much, inflate a bomb or loop (each step moves forward; the entry count is bounded).
 */
import { FaceVerifyError } from '../../errors.js';

const EOCD_SIG = 0x06054b50;
const ZIP64_EOCD_SIG = 0x06064b50;
const ZIP64_LOCATOR_SIG = 0x07064b50;
const CENTRAL_SIG = 0x02014b50;
const LOCAL_SIG = 0x04034b50;
const EOCD_SIZE = 22;
const MAX_COMMENT = 0xffff;
/** A state_dict has a few hundred tensors; this is far above any real checkpoint. */
export const MAX_ZIP_ENTRIES = 100_000;

export interface ZipEntry {
  name: string;
  /** False for a compressed member, whose `data` is then empty (PyTorch never compresses). */
  stored: boolean;
  /** The member's bytes: a view into the archive. */
  data: Uint8Array;
}

function invalid(message: string): FaceVerifyError {
  return new FaceVerifyError('MODEL_INVALID', `Invalid checkpoint archive: ${message}`);
}

class Cursor {
  private readonly view: DataView;
  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  check(offset: number, length: number, what: string): void {
    if (!(offset >= 0 && length >= 0 && offset + length <= this.bytes.length)) {
      throw invalid(`${what} lies outside the file`);
    }
  }
  u16(offset: number): number {
    this.check(offset, 2, 'a field');
    return this.view.getUint16(offset, true);
  }
  u32(offset: number): number {
    this.check(offset, 4, 'a field');
    return this.view.getUint32(offset, true);
  }
  u64(offset: number): number {
    this.check(offset, 8, 'a field');
    const v = this.view.getBigUint64(offset, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw invalid('a 64-bit size is too large');
    return Number(v);
  }
  slice(offset: number, length: number, what: string): Uint8Array {
    this.check(offset, length, what);
    return this.bytes.subarray(offset, offset + length);
  }
}

/** True when the bytes start like a ZIP archive (a local file header). */
export function looksLikeZip(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 3 && bytes[3] === 4;
}

function findEndOfCentralDirectory(c: Cursor, length: number): number {
  const earliest = Math.max(0, length - EOCD_SIZE - MAX_COMMENT);
  for (let at = length - EOCD_SIZE; at >= earliest; at--) {
    if (c.u32(at) === EOCD_SIG && at + EOCD_SIZE + c.u16(at + 20) === length) return at;
  }
  throw invalid('no end of central directory record');
}

/** Where the central directory is and how many entries it has (ZIP64 when the fields overflow). */
function centralDirectory(c: Cursor, length: number): { offset: number; size: number; count: number } {
  const eocd = findEndOfCentralDirectory(c, length);
  let count = c.u16(eocd + 10);
  let size = c.u32(eocd + 12);
  let offset = c.u32(eocd + 16);
  const locator = eocd - 20;
  if (locator >= 0 && c.u32(locator) === ZIP64_LOCATOR_SIG) {
    const z = c.u64(locator + 8);
    if (c.u32(z) !== ZIP64_EOCD_SIG) throw invalid('bad ZIP64 end of central directory');
    count = c.u64(z + 32);
    size = c.u64(z + 40);
    offset = c.u64(z + 48);
  }
  if (count > MAX_ZIP_ENTRIES) throw invalid(`${count} entries (at most ${MAX_ZIP_ENTRIES})`);
  c.check(offset, size, 'the central directory');
  return { offset, size, count };
}

/** Reads ZIP64 values from a central header's extra field for the 32-bit fields that overflowed. */
function zip64Extra(
  c: Cursor,
  extraStart: number,
  extraLength: number,
  need: { uncompressed: boolean; compressed: boolean; offset: boolean },
): { uncompressed?: number; compressed?: number; offset?: number } {
  let at = extraStart;
  const end = extraStart + extraLength;
  while (at + 4 <= end) {
    const id = c.u16(at);
    const len = c.u16(at + 2);
    if (at + 4 + len > end) break;
    if (id === 0x0001) {
      const out: { uncompressed?: number; compressed?: number; offset?: number } = {};
      let p = at + 4;
      const take = (): number => {
        if (p + 8 > at + 4 + len) throw invalid('short ZIP64 extra field');
        const v = c.u64(p);
        p += 8;
        return v;
      };
      if (need.uncompressed) out.uncompressed = take();
      if (need.compressed) out.compressed = take();
      if (need.offset) out.offset = take();
      return out;
    }
    at += 4 + len;
  }
  throw invalid('missing ZIP64 extra field');
}

/**
 * Lists the members of a ZIP archive of stored (uncompressed) members.
 *
 * @example
 * const entries = readStoredZip(bytes);
 * const pickle = entries.get('archive/data.pkl')?.data;
 */
export function readStoredZip(bytes: Uint8Array): Map<string, ZipEntry> {
  const c = new Cursor(bytes);
  const dir = centralDirectory(c, bytes.length);
  const entries = new Map<string, ZipEntry>();
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let at = dir.offset;
  const dirEnd = dir.offset + dir.size;
  for (let i = 0; i < dir.count; i++) {
    if (at + 46 > dirEnd || c.u32(at) !== CENTRAL_SIG) throw invalid('bad central directory entry');
    const flags = c.u16(at + 8);
    const method = c.u16(at + 10);
    let compressed = c.u32(at + 20);
    let uncompressed = c.u32(at + 24);
    const nameLength = c.u16(at + 28);
    const extraLength = c.u16(at + 30);
    const commentLength = c.u16(at + 32);
    let localOffset = c.u32(at + 42);
    let name: string;
    try {
      name = decoder.decode(c.slice(at + 46, nameLength, 'an entry name'));
    } catch (err) {
      if (err instanceof FaceVerifyError) throw err;
      throw invalid('an entry name is not UTF-8');
    }
    const need = {
      uncompressed: uncompressed === 0xffffffff,
      compressed: compressed === 0xffffffff,
      offset: localOffset === 0xffffffff,
    };
    if (need.uncompressed || need.compressed || need.offset) {
      const z = zip64Extra(c, at + 46 + nameLength, extraLength, need);
      uncompressed = z.uncompressed ?? uncompressed;
      compressed = z.compressed ?? compressed;
      localOffset = z.offset ?? localOffset;
    }
    at += 46 + nameLength + extraLength + commentLength;
    if (at > dirEnd) throw invalid('central directory entry runs past the directory');
    if (flags & 0x1) throw invalid(`"${name}" is encrypted`);
    if (c.u32(localOffset) !== LOCAL_SIG) throw invalid(`"${name}" has no local header`);
    const dataStart = localOffset + 30 + c.u16(localOffset + 26) + c.u16(localOffset + 28);
    if (entries.has(name)) throw invalid(`"${name}" appears twice`);
    if (method !== 0) {
      // A compressed member is refused by the caller only if it needs it.
      entries.set(name, { name, stored: false, data: new Uint8Array(0) });
      continue;
    }
    if (compressed !== uncompressed) throw invalid(`"${name}" is stored with two different sizes`);
    entries.set(name, { name, stored: true, data: c.slice(dataStart, uncompressed, `"${name}"`) });
  }
  return entries;
}
