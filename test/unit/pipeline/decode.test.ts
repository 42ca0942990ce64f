/**
 * Decoding: formats are recognised by their bytes, pixel bombs are refused from the header before any
 * pixel is decoded, and broken files get a typed 4xx error quickly. Bombs are generated here (none
 * are stored in ../shared), small on disk but huge in declared pixels.
 */
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { FaceVerifyError } from '../../../src/errors.js';
import { decodeImage, DEFAULT_DECODE_OPTIONS, sniffFormat } from '../../../src/pipeline/decode.js';

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'OK';
  } catch (err) {
    if (err instanceof FaceVerifyError) return err.code;
    throw err;
  }
}

/** A PNG whose IHDR declares width × height but whose data is a few bytes: a decompression bomb. */
function pngBomb(width: number, height: number): Buffer {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf: Buffer): number => {
    let c = 0xffffffff;
    for (const b of buf) c = (crcTable[(c ^ b) & 0xff] as number) ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer): Buffer => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const sum = Buffer.alloc(4);
    sum.writeUInt32BE(crc(body));
    return Buffer.concat([len, body, sum]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.alloc(1024))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A real small JPEG whose SOF0 header is patched to claim width × height: a decompression bomb. */
async function jpegBomb(width: number, height: number): Promise<Buffer> {
  const jpeg = await sharp({ create: { width: 16, height: 16, channels: 3, background: '#aa5500' } })
    .jpeg({ progressive: false })
    .toBuffer();
  for (let i = 2; i < jpeg.length - 9; i++) {
    if (jpeg[i] === 0xff && jpeg[i + 1] === 0xc0) {
      jpeg.writeUInt16BE(height, i + 5);
      jpeg.writeUInt16BE(width, i + 7);
      return jpeg;
    }
  }
  throw new Error('no SOF0 marker');
}

describe('sniffFormat', () => {
  it('recognises formats by magic numbers, whatever the file is called', () => {
    expect(sniffFormat(Buffer.from([0xff, 0xd8, 0xff, 0xe0]))).toBe('jpeg');
    expect(sniffFormat(Buffer.from('\x89PNG\r\n\x1a\n', 'latin1'))).toBe('png');
    expect(sniffFormat(Buffer.from('GIF89a'))).toBe('gif');
    expect(sniffFormat(Buffer.from('RIFF\0\0\0\0WEBPVP8 '))).toBe('webp');
    expect(sniffFormat(Buffer.from('\0\0\0\x1cftypavif', 'latin1'))).toBe('avif');
    expect(sniffFormat(Buffer.from('\0\0\0\x18ftypheic', 'latin1'))).toBe('heic');
    expect(sniffFormat(Buffer.from('BM' + '\0'.repeat(20)))).toBe('bmp');
    expect(sniffFormat(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>'))).toBeNull();
    expect(sniffFormat(Buffer.from('hello'))).toBeNull();
  });
});

describe('decodeImage', () => {
  it('refuses a PNG declaring 50,000 × 50,000 pixels without decoding it', async () => {
    // Refused from the header: by our side limit (the message quotes the declared size) or by
    // sharp's input pixel limit, which libvips checks on the header too; not by a decode timeout.
    const err: unknown = await decodeImage(pngBomb(50_000, 50_000)).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'IMAGE_TOO_LARGE' });
    expect((err as Error).message).toMatch(/^The image (declares 50000×50000 pixels|has too many pixels)/);
  });

  it('refuses a JPEG header claiming 65,500 × 65,500 pixels', async () => {
    expect(await codeOf(decodeImage(await jpegBomb(65_500, 65_500)))).toBe('IMAGE_TOO_LARGE');
  });

  it('refuses SVG on purpose (it can reference external resources)', async () => {
    const svg = Buffer.from(
      '<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="9" height="9"><image href="http://169.254.169.254/"/></svg>',
    );
    expect(await codeOf(decodeImage(svg))).toBe('UNSUPPORTED_FORMAT');
  });

  it('answers INVALID_IMAGE for empty, text and HTML input', async () => {
    expect(await codeOf(decodeImage(new Uint8Array(0)))).toBe('INVALID_IMAGE');
    expect(await codeOf(decodeImage(Buffer.from('not an image')))).toBe('INVALID_IMAGE');
    expect(await codeOf(decodeImage(Buffer.from('<html><body>404</body></html>')))).toBe('INVALID_IMAGE');
  });

  it('answers INVALID_IMAGE for a truncated JPEG instead of a half-grey picture', async () => {
    const full = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#884422' } })
      .jpeg()
      .toBuffer();
    expect(await codeOf(decodeImage(full.subarray(0, Math.floor(full.length / 2))))).toBe('INVALID_IMAGE');
  });

  it('takes only the first frame of an animated GIF with many frames', async () => {
    const frame = (background: string) =>
      sharp({ create: { width: 32, height: 24, channels: 3, background } })
        .png()
        .toBuffer();
    const frames = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        frame(i === 0 ? '#ff0000' : `#00${(i % 256).toString(16).padStart(2, '0')}ff`),
      ),
    );
    const gif = await sharp(frames, { join: { animated: true } })
      .gif()
      .toBuffer();
    expect((await sharp(gif).metadata()).pages).toBeGreaterThan(20); // the encoder merges look-alike frames
    const img = await decodeImage(gif);
    expect([img.width, img.height]).toEqual([32, 24]);
    // The first frame is red: later frames were not composited over it.
    expect(img.data[0]).toBeGreaterThan(200);
    expect(img.data[2]).toBeLessThan(50);
  });

  it('scales a large image down to maxDimension and reports the scale back to original pixels', async () => {
    const big = await sharp({ create: { width: 4000, height: 3000, channels: 3, background: '#336699' } })
      .jpeg()
      .toBuffer();
    const img = await decodeImage(big, { ...DEFAULT_DECODE_OPTIONS, maxDimension: 1000 });
    expect([img.width, img.height]).toEqual([1000, 750]);
    expect(img.scale).toBeCloseTo(4, 6);
    expect([img.originalWidth, img.originalHeight]).toEqual([4000, 3000]);
    expect(img.data.length).toBe(1000 * 750 * 3);
  });

  it('turns grayscale and RGBA into three-channel RGB', async () => {
    const gray = await sharp({ create: { width: 10, height: 10, channels: 3, background: '#777777' } })
      .grayscale()
      .png()
      .toBuffer();
    const rgba = await sharp({
      create: { width: 10, height: 10, channels: 4, background: { r: 10, g: 20, b: 30, alpha: 0.5 } },
    })
      .png()
      .toBuffer();
    for (const bytes of [gray, rgba]) {
      const img = await decodeImage(bytes);
      expect(img.data.length).toBe(10 * 10 * 3);
    }
  });
});
