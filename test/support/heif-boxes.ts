/**
 * Edits of a HEIF file's boxes (ISO/IEC 23008-12), for tests: nothing here can encode HEVC, so the
 * tests change a real HEIC's header instead. Handles the layouts libheif writes (one top-level `meta`
 * before `mdat`, item data addressed by file offsets in `iloc`).
 */

interface Box {
  type: string;
  start: number;
  size: number;
  /** Where the children or payload begin (after the header, and after version/flags for a FullBox). */
  body: number;
}

const FULL_BOXES = new Set(['meta', 'iloc', 'ipma', 'pitm', 'ispe']);

function boxes(b: Buffer, from: number, to: number): Box[] {
  const out: Box[] = [];
  for (let at = from; at + 8 <= to;) {
    const size = b.readUInt32BE(at);
    const type = b.toString('latin1', at + 4, at + 8);
    if (size < 8 || at + size > to) throw new Error(`bad box ${type} at ${at}`);
    out.push({ type, start: at, size, body: at + 8 + (FULL_BOXES.has(type) ? 4 : 0) });
    at += size;
  }
  return out;
}

function child(b: Buffer, parent: Box, type: string): Box {
  const found = boxes(b, parent.body, parent.start + parent.size).find((c) => c.type === type);
  if (!found) throw new Error(`no ${type} in ${parent.type}`);
  return found;
}

function readUInt(b: Buffer, at: number, bytes: number): number {
  return bytes === 0 ? 0 : b.readUIntBE(at, bytes);
}

/**
 * Adds an `irot` property (rotation anti-clockwise by `quarterTurns` × 90°) to the primary image, the
 * way an iPhone stores a portrait photo: the pixels stay as they are and readers turn them.
 */
export function withIrot(heic: Buffer, quarterTurns: 1 | 2 | 3): Buffer {
  const meta = boxes(heic, 0, heic.length).find((x) => x.type === 'meta');
  if (!meta) throw new Error('no meta box');
  const pitm = child(heic, meta, 'pitm');
  const primary = heic[pitm.start + 8] === 0 ? heic.readUInt16BE(pitm.body) : heic.readUInt32BE(pitm.body);
  const iprp = child(heic, meta, 'iprp');
  const ipco = child(heic, iprp, 'ipco');
  const ipma = child(heic, iprp, 'ipma');
  const iloc = child(heic, meta, 'iloc');
  const propertyIndex = boxes(heic, ipco.body, ipco.start + ipco.size).length + 1;

  // Find the primary item's association list in ipma.
  const version = heic[ipma.start + 8]!;
  const wide = (heic[ipma.start + 11]! & 1) === 1;
  let at = ipma.body + 4;
  let insertAt = -1;
  let countAt = -1;
  for (let n = heic.readUInt32BE(ipma.body); n > 0; n--) {
    const item = version < 1 ? heic.readUInt16BE(at) : heic.readUInt32BE(at);
    at += version < 1 ? 2 : 4;
    const count = heic[at]!;
    if (item === primary) countAt = at;
    at += 1 + count * (wide ? 2 : 1);
    if (item === primary) insertAt = at;
  }
  if (insertAt < 0) throw new Error('primary item has no properties');
  const association = wide
    ? Buffer.from([0x80 | (propertyIndex >> 8), propertyIndex & 0xff])
    : Buffer.from([0x80 | propertyIndex]);
  const irot = Buffer.from([0, 0, 0, 9, ...Buffer.from('irot', 'latin1'), quarterTurns & 3]);
  const grow = irot.length + association.length;

  // Item data (in mdat, after meta) moves by `grow`: shift iloc's file offsets.
  const out = Buffer.concat([
    heic.subarray(0, ipco.start + ipco.size),
    irot,
    heic.subarray(ipco.start + ipco.size, insertAt),
    association,
    heic.subarray(insertAt),
  ]);
  const moved = (pos: number): number =>
    pos + (pos >= insertAt ? grow : pos >= ipco.start + ipco.size ? irot.length : 0);
  out[moved(countAt)]!++;
  for (const box of [meta, iprp, ipco, ipma]) {
    const extra = box === ipco ? irot.length : box === ipma ? association.length : grow;
    out.writeUInt32BE(box.size + extra, moved(box.start));
  }
  const ilocVersion = heic[iloc.start + 8]!;
  let p = iloc.body;
  const offsetSize = heic[p]! >> 4;
  const lengthSize = heic[p]! & 15;
  const baseSize = heic[p + 1]! >> 4;
  const indexSize = ilocVersion > 0 ? heic[p + 1]! & 15 : 0;
  p += 2;
  const items = ilocVersion < 2 ? heic.readUInt16BE(p) : heic.readUInt32BE(p);
  p += ilocVersion < 2 ? 2 : 4;
  const shift = (pos: number, bytes: number): void => {
    const value = readUInt(heic, pos, bytes);
    if (value >= meta.start + meta.size) out.writeUIntBE(value + grow, moved(pos), bytes);
  };
  for (let i = 0; i < items; i++) {
    p += ilocVersion < 2 ? 2 : 4;
    const method = ilocVersion > 0 ? heic.readUInt16BE(p) & 15 : 0;
    if (ilocVersion > 0) p += 2;
    p += 2; // data_reference_index
    if (method === 0 && baseSize > 0) shift(p, baseSize);
    p += baseSize;
    const extents = heic.readUInt16BE(p);
    p += 2;
    for (let e = 0; e < extents; e++) {
      p += indexSize;
      if (method === 0 && baseSize === 0) shift(p, offsetSize);
      p += offsetSize + lengthSize;
    }
  }
  return out;
}

/** Changes the size the primary image's `ispe` property declares (the pixels stay as they are). */
export function withDeclaredSize(heic: Buffer, width: number, height: number): Buffer {
  const out = Buffer.from(heic);
  const at = out.indexOf('ispe', 0, 'latin1');
  if (at < 0) throw new Error('no ispe box');
  out.writeUInt32BE(width, at + 8);
  out.writeUInt32BE(height, at + 12);
  return out;
}
