/**
 * Mutated images for the fuzz tests: real files from ../shared/faces/edge/formats with random byte
 * flips, overwrites, truncations, insertions, deletions, and header fields (width, height, bit depth,
 * offsets …) set to random or extreme values. The header fields are found by parsing each format just
 * enough (PNG IHDR, JPEG SOFn, GIF screen and first image descriptor, WebP VP8/VP8L/VP8X, BMP info
 * header, TIFF IFD0, AVIF/HEIC ispe), so a mutation hits the numbers a decoder trusts before it reads
 * any pixel: that is where pixel bombs, huge allocations and out-of-bounds reads come from.
 */
import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import { readFace } from '../../support/faces.js';

/** The fixed seed of every fuzz property (FUZZ_SEED overrides it to explore locally). */
export const FUZZ_SEED = Number(process.env.FUZZ_SEED ?? 20261125);

/** A property's number of runs, times FUZZ_SCALE (default 1) for longer local explorations. */
export function fuzzRuns(n: number): number {
  return Math.max(1, Math.round(n * Number(process.env.FUZZ_SCALE ?? 1)));
}

export const FORMAT_FILES = [
  'face_baseline.jpg',
  'face_progressive.jpg',
  'face_grayscale.jpg',
  'face_cmyk.jpg',
  'face.png',
  'face_16bit.png',
  'face_rgba_alpha.png',
  'face.webp',
  'face.gif',
  'face.tiff',
  'face.bmp',
  'face.avif',
  'face.heic',
] as const;
export type FormatFile = (typeof FORMAT_FILES)[number];

const originals = new Map<FormatFile, Buffer>();
/** The original bytes of a format sample (read once). */
export function formatSample(file: FormatFile): Buffer {
  let bytes = originals.get(file);
  if (!bytes) {
    bytes = readFace(`edge/formats/${file}`);
    originals.set(file, bytes);
  }
  return bytes;
}

/** A number in a file's header: where it is, how wide, which byte order. */
export interface HeaderField {
  name: string;
  offset: number;
  size: 1 | 2 | 3 | 4;
  littleEndian: boolean;
  /** PNG: the chunk whose CRC must be recomputed after the write ([start of type, end of data)). */
  crc?: [number, number];
}

const be16 = (b: Uint8Array, i: number): number => ((b[i] ?? 0) << 8) | (b[i + 1] ?? 0);
const le16 = (b: Uint8Array, i: number): number => (b[i] ?? 0) | ((b[i + 1] ?? 0) << 8);
const le32 = (b: Uint8Array, i: number): number => (le16(b, i) + le16(b, i + 2) * 0x10000) >>> 0;
const be32 = (b: Uint8Array, i: number): number => (be16(b, i) * 0x10000 + be16(b, i + 2)) >>> 0;
const ascii = (b: Uint8Array, i: number, n: number): string => String.fromCharCode(...b.subarray(i, i + n));

function pngFields(): HeaderField[] {
  // Signature (8), IHDR length (4), "IHDR" (4), then width, height, depth, colour type, compression,
  // filter, interlace; the CRC covers "IHDR" and the 13 data bytes.
  const crc: [number, number] = [12, 29];
  const field = (name: string, offset: number, size: 1 | 4): HeaderField => ({
    name,
    offset,
    size,
    littleEndian: false,
    crc,
  });
  return [
    field('png.width', 16, 4),
    field('png.height', 20, 4),
    field('png.bitDepth', 24, 1),
    field('png.colourType', 25, 1),
    field('png.interlace', 28, 1),
  ];
}

function jpegFields(b: Uint8Array): HeaderField[] {
  const out: HeaderField[] = [];
  let i = 2;
  while (i + 4 <= b.length && b[i] === 0xff) {
    const marker = b[i + 1] ?? 0;
    if (marker === 0xda || marker === 0xd9) break; // start of scan / end of image
    const isSof = marker >= 0xc0 && marker <= 0xcf && ![0xc4, 0xc8, 0xcc].includes(marker);
    if (isSof) {
      out.push(
        { name: 'jpeg.sof.precision', offset: i + 4, size: 1, littleEndian: false },
        { name: 'jpeg.sof.height', offset: i + 5, size: 2, littleEndian: false },
        { name: 'jpeg.sof.width', offset: i + 7, size: 2, littleEndian: false },
        { name: 'jpeg.sof.components', offset: i + 9, size: 1, littleEndian: false },
        { name: 'jpeg.sof.sampling', offset: i + 11, size: 1, littleEndian: false },
      );
    }
    if (marker === 0xdd) out.push({ name: 'jpeg.dri', offset: i + 4, size: 2, littleEndian: false });
    i += 2 + be16(b, i + 2);
  }
  return out;
}

function gifFields(b: Uint8Array): HeaderField[] {
  const le = (name: string, offset: number, size: 1 | 2): HeaderField => ({
    name,
    offset,
    size,
    littleEndian: true,
  });
  const out = [le('gif.screen.width', 6, 2), le('gif.screen.height', 8, 2), le('gif.flags', 10, 1)];
  const flags = b[10] ?? 0;
  let i = 13 + (flags & 0x80 ? 3 * 2 ** ((flags & 7) + 1) : 0);
  // Skip extensions (0x21 label, sub-blocks) up to the first image descriptor (0x2c).
  while (i < b.length && b[i] === 0x21) {
    i += 2;
    while (i < b.length && (b[i] ?? 0) !== 0) i += (b[i] ?? 0) + 1;
    i += 1;
  }
  if (b[i] === 0x2c) {
    out.push(
      le('gif.frame.left', i + 1, 2),
      le('gif.frame.top', i + 3, 2),
      le('gif.frame.width', i + 5, 2),
      le('gif.frame.height', i + 7, 2),
      le('gif.frame.flags', i + 9, 1),
      le('gif.lzw.minCodeSize', i + 10, 1),
    );
  }
  return out;
}

function webpFields(b: Uint8Array): HeaderField[] {
  const chunk = ascii(b, 12, 4);
  const le = (name: string, offset: number, size: 1 | 2 | 3 | 4): HeaderField => ({
    name,
    offset,
    size,
    littleEndian: true,
  });
  const out = [le('webp.riff.size', 4, 4), le('webp.chunk.size', 16, 4)];
  if (chunk === 'VP8 ') out.push(le('webp.vp8.width', 26, 2), le('webp.vp8.height', 28, 2));
  if (chunk === 'VP8L') out.push(le('webp.vp8l.size', 21, 4));
  if (chunk === 'VP8X') out.push(le('webp.vp8x.width', 24, 3), le('webp.vp8x.height', 27, 3));
  return out;
}

function bmpFields(): HeaderField[] {
  const le = (name: string, offset: number, size: 2 | 4): HeaderField => ({
    name,
    offset,
    size,
    littleEndian: true,
  });
  return [
    le('bmp.pixelOffset', 10, 4),
    le('bmp.headerSize', 14, 4),
    le('bmp.width', 18, 4),
    le('bmp.height', 22, 4),
    le('bmp.bitsPerPixel', 28, 2),
    le('bmp.compression', 30, 4),
    le('bmp.coloursUsed', 46, 4),
  ];
}

const TIFF_TAGS: Record<number, string> = {
  256: 'width',
  257: 'height',
  258: 'bitsPerSample',
  259: 'compression',
  262: 'photometric',
  273: 'stripOffsets',
  277: 'samplesPerPixel',
  278: 'rowsPerStrip',
  279: 'stripByteCounts',
};

function tiffFields(b: Uint8Array): HeaderField[] {
  const little = b[0] === 0x49;
  const u16 = (i: number): number => (little ? le16(b, i) : be16(b, i));
  const u32 = (i: number): number => (little ? le32(b, i) : be32(b, i));
  const ifd = u32(4);
  const count = u16(ifd);
  const out: HeaderField[] = [{ name: 'tiff.ifdOffset', offset: 4, size: 4, littleEndian: little }];
  for (let k = 0; k < count && ifd + 2 + 12 * (k + 1) <= b.length; k++) {
    const entry = ifd + 2 + 12 * k;
    const name = TIFF_TAGS[u16(entry)];
    if (!name) continue;
    const short = u16(entry + 2) === 3;
    out.push(
      { name: `tiff.${name}.count`, offset: entry + 4, size: 4, littleEndian: little },
      { name: `tiff.${name}`, offset: entry + 8, size: short ? 2 : 4, littleEndian: little },
    );
  }
  return out;
}

function ispeFields(b: Uint8Array): HeaderField[] {
  const at = Buffer.from(b.buffer, b.byteOffset, b.byteLength).indexOf('ispe');
  if (at < 0) return [];
  return [
    { name: 'heif.ispe.width', offset: at + 8, size: 4, littleEndian: false },
    { name: 'heif.ispe.height', offset: at + 12, size: 4, littleEndian: false },
  ];
}

/** The header fields of a sample, found from its bytes. */
export function headerFields(file: FormatFile, b: Uint8Array): HeaderField[] {
  if (file.endsWith('.png')) return pngFields();
  if (file.endsWith('.jpg')) return jpegFields(b);
  if (file.endsWith('.gif')) return gifFields(b);
  if (file.endsWith('.webp')) return webpFields(b);
  if (file.endsWith('.bmp')) return bmpFields();
  if (file.endsWith('.tiff')) return tiffFields(b);
  return ispeFields(b);
}

export type Mutation =
  | { op: 'flip'; at: number; bit: number }
  | { op: 'set'; at: number; value: number }
  | { op: 'truncate'; at: number }
  | { op: 'insert'; at: number; bytes: Uint8Array }
  | { op: 'delete'; at: number; length: number }
  | { op: 'field'; index: number; value: number };

/** Positions lean towards the first kilobyte, where the headers are. */
const position = fc.oneof(
  { arbitrary: fc.integer({ min: 0, max: 1023 }), weight: 3 },
  { arbitrary: fc.integer({ min: 0, max: 2 ** 31 - 1 }), weight: 1 },
);

/** Extreme values first (they shrink to them), then anything that fits 32 bits. */
export const headerValue = fc.oneof(
  fc.constantFrom(
    0,
    1,
    2,
    3,
    8,
    16,
    0x7f,
    0x80,
    0xff,
    0x100,
    0x3fff,
    0x4000,
    0x7fff,
    0x8000,
    0xffff,
    50_000,
    0xffffff,
    0x7fffffff,
    0x80000000,
    0xffffffff,
  ),
  fc.integer({ min: 0, max: 0xffffffff }),
);

export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), at: position, bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ op: fc.constant('set' as const), at: position, value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ op: fc.constant('truncate' as const), at: position }),
  fc.record({ op: fc.constant('insert' as const), at: position, bytes: fc.uint8Array({ maxLength: 64 }) }),
  fc.record({ op: fc.constant('delete' as const), at: position, length: fc.integer({ min: 1, max: 256 }) }),
  {
    arbitrary: fc.record({
      op: fc.constant('field' as const),
      index: fc.nat({ max: 40 }),
      value: headerValue,
    }),
    weight: 3,
  },
);

function writeField(b: Buffer, f: HeaderField, value: number): void {
  if (f.offset + f.size > b.length) return;
  const v = value % 2 ** (8 * f.size);
  for (let k = 0; k < f.size; k++) {
    const byte = Math.floor(v / 2 ** (8 * k)) & 0xff;
    b[f.littleEndian ? f.offset + k : f.offset + f.size - 1 - k] = byte;
  }
  if (f.crc && f.crc[1] + 4 <= b.length) {
    b.writeUInt32BE(crc32(b.subarray(f.crc[0], f.crc[1])), f.crc[1]);
  }
}

/**
 * Applies mutations in order to a copy of `original`. Header fields are looked up once, on the
 * original, so a field mutation after an insertion may land a little off: that is fine for a fuzzer.
 */
export function mutate(file: FormatFile, original: Buffer, mutations: readonly Mutation[]): Buffer {
  const fields = headerFields(file, original);
  let b = Buffer.from(original);
  for (const m of mutations) {
    if (b.length === 0) break;
    switch (m.op) {
      case 'flip': {
        const i = m.at % b.length;
        b[i] = (b[i] ?? 0) ^ (1 << m.bit);
        break;
      }
      case 'set':
        b[m.at % b.length] = m.value;
        break;
      case 'truncate':
        b = b.subarray(0, m.at % b.length);
        break;
      case 'insert': {
        const i = m.at % (b.length + 1);
        b = Buffer.concat([b.subarray(0, i), m.bytes, b.subarray(i)]);
        break;
      }
      case 'delete': {
        const i = m.at % b.length;
        b = Buffer.concat([b.subarray(0, i), b.subarray(i + m.length)]);
        break;
      }
      case 'field': {
        const f = fields[m.index % Math.max(1, fields.length)];
        if (f) writeField(b, f, m.value);
        break;
      }
    }
  }
  return b;
}

/** A sample, a list of mutations, and the bytes they make (built lazily so shrinking stays cheap). */
export interface MutatedImage {
  file: FormatFile;
  mutations: Mutation[];
  bytes: () => Buffer;
}

export const mutatedImage: fc.Arbitrary<MutatedImage> = fc
  .record({
    file: fc.constantFrom(...FORMAT_FILES),
    mutations: fc.array(mutation, { minLength: 1, maxLength: 6 }),
  })
  .map(({ file, mutations }) => ({
    file,
    mutations,
    bytes: () => mutate(file, formatSample(file), mutations),
  }));

/** Magic numbers that get random bytes past format sniffing and into a real decoder. */
export const MAGIC_PREFIXES: readonly Uint8Array[] = [
  Uint8Array.of(0xff, 0xd8, 0xff),
  Uint8Array.of(0xff, 0xd8, 0xff, 0xc0, 0x00, 0x11, 0x08),
  Buffer.from('\x89PNG\r\n\x1a\n', 'latin1'),
  Buffer.from('\x89PNG\r\n\x1a\n\0\0\0\rIHDR', 'latin1'),
  Buffer.from('GIF89a'),
  Buffer.from('GIF87a'),
  Buffer.from('RIFF\0\0\0\0WEBPVP8 '),
  Buffer.from('RIFF\0\0\0\0WEBPVP8L'),
  Buffer.from('RIFF\0\0\0\0WEBPVP8X'),
  Buffer.from('II*\0'),
  Buffer.from('MM\0*'),
  Buffer.from('BM'),
  Buffer.from('\0\0\0\x1cftypavif', 'latin1'),
  Buffer.from('\0\0\0\x18ftypheic', 'latin1'),
  Buffer.from('<svg xmlns="http://www.w3.org/2000/svg">'),
  Buffer.from('<?xml version="1.0"?>\n<svg>'),
  new Uint8Array(0),
];

/** Random bytes, often behind a format's magic number. */
export const randomImageBytes: fc.Arbitrary<Uint8Array> = fc
  .tuple(fc.constantFrom(...MAGIC_PREFIXES), fc.uint8Array({ maxLength: 4096 }))
  .map(([prefix, rest]) => Buffer.concat([prefix, rest]));
