/**
 * Stage 1: decode image bytes into RGB pixels with `sharp` (libvips).
 *
 * - The format is decided by the bytes' magic numbers, never by a file name or a Content-Type.
 *   Accepted: JPEG, PNG, WebP, GIF (first frame), TIFF, AVIF, BMP (decoded by `bmp-ts`, which libvips
 *   cannot read), HEIC/HEIF (the primary image, decoded by libheif in WebAssembly on a thread of its
 *   own: heic-decoder.ts). SVG and other text is refused: an SVG can reference external resources.
 * - EXIF orientation is applied (in a HEIC, its irot/imir properties instead); grayscale, CMYK and 16-bit images become 8-bit sRGB; alpha is dropped
 *   (the colour under a transparent pixel is the photo's own, which suits a face better than a blend).
 * - Pixel bombs are refused from the header before any pixel is decoded (`maxInputPixels`), truncated
 *   files fail (`failOn: 'truncated'`), and every decode has a time limit.
 * - The longer side is scaled down to `maxDimension` (a big JPEG further, when libjpeg can then decode it
 *   at 1/2, 1/4 or 1/8 scale: src/pipeline/reduced-decode.ts); `scale` maps decoded pixels back to the original
 *   (original = decoded · scale), so boxes and landmarks can be reported in original pixels.
 *
 * Output layout: interleaved RGB, HWC, Uint8.
 */
import sharp, { type Sharp } from 'sharp';
import { decode as decodeBmp } from 'bmp-ts';
import { FaceVerifyError } from '../errors.js';
import { heicDecoder, HeicTooLarge } from './heic-decoder.js';
import { reducedSide } from './reduced-decode.js';

export interface DecodeOptions {
  /** Longest side after decoding, in pixels (the reference's MAX_IMAGE_DIMENSION, 1920). */
  maxDimension: number;
  /** Largest number of pixels a file may declare (width × height) before it is refused as a bomb. */
  maxInputPixels: number;
  /** Time limit of one decode, in seconds. */
  timeoutSeconds: number;
  /**
   * A JPEG larger than `maxDimension` may be decoded to a smaller copy, down to this longest side, when
   * that lets libjpeg decode it at 1/2, 1/4 or 1/8 scale (src/pipeline/reduced-decode.ts); 0: never.
   */
  minReducedDimension: number;
}

export const DEFAULT_DECODE_OPTIONS: DecodeOptions = {
  maxDimension: 1920,
  maxInputPixels: 100_000_000,
  timeoutSeconds: 10,
  // Off by default: on 12 MP photos with faces of 800-1200 px the landmarks move a few pixels
  // (embedding cosine 0.97-0.99 to the 1920 path), and the time saved is not yet measured on a quiet
  // machine (docs/performance.md).
  minReducedDimension: 0,
};

export type ImageFormat = 'jpeg' | 'png' | 'webp' | 'gif' | 'tiff' | 'avif' | 'heic' | 'bmp';

export interface DecodedImage {
  /** Interleaved RGB, row-major, `width · height · 3` bytes. */
  data: Uint8Array;
  width: number;
  height: number;
  /** Original (EXIF-rotated) size, before scaling down. */
  originalWidth: number;
  originalHeight: number;
  /** original = decoded · scale (≥ 1). */
  scale: number;
  /**
   * The decoded size relative to the `maxDimension` copy (≤ 1): below 1 for a big JPEG decoded smaller
   * (see {@link DecodeOptions.minReducedDimension}); sizes in `maxDimension` pixels are multiplied by it.
   */
  reduction: number;
  format: ImageFormat;
}

/**
 * Finds the image format from the first bytes, or null when they are not an image we accept.
 *
 * @example
 * sniffFormat(new Uint8Array([0xff, 0xd8, 0xff, 0xe0])); // 'jpeg'
 */
export function sniffFormat(b: Uint8Array): ImageFormat | null {
  const ascii = (start: number, end: number): string => String.fromCharCode(...b.subarray(start, end));
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (b.length >= 8 && ascii(1, 4) === 'PNG' && b[0] === 0x89) return 'png';
  if (b.length >= 6 && (ascii(0, 6) === 'GIF87a' || ascii(0, 6) === 'GIF89a')) return 'gif';
  if (b.length >= 12 && ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return 'webp';
  if (b.length >= 4 && (ascii(0, 4) === 'II*\0' || ascii(0, 4) === 'MM\0*')) return 'tiff';
  if (b.length >= 14 && ascii(0, 2) === 'BM') return 'bmp';
  if (b.length >= 12 && ascii(4, 8) === 'ftyp') {
    const brand = ascii(8, 12);
    if (brand === 'avif' || brand === 'avis') return 'avif';
    if (['heic', 'heix', 'hevc', 'hevx', 'heim', 'heis'].includes(brand)) return 'heic';
    if (brand === 'mif1' || brand === 'msf1') {
      // A generic HEIF brand: the compatible brands (after the minor version) say AV1 or HEVC.
      const boxEnd = Math.min(b.length, new DataView(b.buffer, b.byteOffset, 4).getUint32(0));
      for (let at = 16; at + 4 <= boxEnd; at += 4) {
        const compatible = ascii(at, at + 4);
        if (compatible === 'avif' || compatible === 'avis') return 'avif';
      }
      return 'heic';
    }
  }
  return null;
}

/** An SVG gets its own answer: it is an image format, refused on purpose. */
function looksLikeSvg(b: Uint8Array): boolean {
  const head = new TextDecoder('utf-8', { fatal: false }).decode(b.subarray(0, 4096)).trimStart();
  return head.startsWith('<') && /<svg[\s>]/i.test(head);
}

function invalid(message: string, cause?: unknown): FaceVerifyError {
  return new FaceVerifyError('INVALID_IMAGE', message, undefined, { cause });
}

/** BMP header fields (BITMAPINFOHEADER and later), read before decoding to refuse bombs. */
function bmpSize(b: Uint8Array): { width: number; height: number } {
  if (b.length < 26) throw invalid('The BMP file is truncated');
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return { width: Math.abs(view.getInt32(18, true)), height: Math.abs(view.getInt32(22, true)) };
}

/** Longest side any decoder here handles sanely; far wider strips cost gigabytes even under the pixel limit. */
const MAX_SIDE = 65_535;

function checkPixels(width: number, height: number, options: DecodeOptions): void {
  if (width <= 0 || height <= 0) throw invalid('The image has no pixels');
  if (Math.max(width, height) > MAX_SIDE) {
    throw new FaceVerifyError(
      'IMAGE_TOO_LARGE',
      `The image declares ${width}×${height} pixels; sides over ${MAX_SIDE} are refused`,
      {
        width,
        height,
      },
    );
  }
  if (width * height > options.maxInputPixels) {
    throw new FaceVerifyError(
      'IMAGE_TOO_LARGE',
      `The image declares ${width}×${height} pixels; at most ${options.maxInputPixels} pixels are accepted`,
      { width, height, max_pixels: options.maxInputPixels },
    );
  }
}

async function sharpInput(bytes: Uint8Array, format: ImageFormat, options: DecodeOptions): Promise<Sharp> {
  const common = {
    failOn: 'truncated' as const,
    limitInputPixels: options.maxInputPixels,
    sequentialRead: true,
  };
  if (format === 'heic') {
    let heic;
    try {
      heic = await heicDecoder().decode(bytes, options);
    } catch (err) {
      if (err instanceof HeicTooLarge) checkPixels(err.width, err.height, options);
      throw err;
    }
    // The pixels are already turned upright: no EXIF tag travels with raw input.
    return sharp(heic.data, { ...common, raw: { width: heic.width, height: heic.height, channels: 3 } });
  }
  if (format !== 'bmp') return sharp(bytes, { ...common, pages: 1 });
  const { width, height } = bmpSize(bytes);
  checkPixels(width, height, options);
  let rgba: Uint8Array;
  try {
    const bmp = decodeBmp(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), { toRGBA: true });
    rgba = bmp.data;
    if (rgba.length < width * height * 4) throw new Error('short pixel data');
  } catch (err) {
    throw invalid('The BMP file could not be decoded', err);
  }
  return sharp(rgba, { ...common, raw: { width, height, channels: 4 } });
}

/**
 * Decodes image bytes to RGB pixels, applying EXIF orientation and the size limits.
 *
 * @example
 * const img = await decodeImage(await readFile('face.jpg'));
 * console.log(img.width, img.height, img.scale);
 */
export async function decodeImage(
  bytes: Uint8Array,
  options: DecodeOptions = DEFAULT_DECODE_OPTIONS,
): Promise<DecodedImage> {
  if (bytes.byteLength === 0) throw invalid('The image is empty (0 bytes)');
  const format = sniffFormat(bytes);
  if (!format) {
    if (looksLikeSvg(bytes)) {
      throw new FaceVerifyError(
        'UNSUPPORTED_FORMAT',
        'SVG images are not accepted (they can reference external resources)',
      );
    }
    throw invalid(
      'The file is not an image in a supported format (JPEG, PNG, WebP, GIF, TIFF, AVIF, BMP, HEIC)',
    );
  }

  try {
    const input = await sharpInput(bytes, format, options);
    const meta = await input.metadata();
    const rawWidth = meta.width ?? 0;
    const rawHeight = meta.height ?? 0;
    checkPixels(rawWidth, rawHeight, options);
    // Orientations 5–8 swap width and height.
    const swap = (meta.orientation ?? 1) >= 5;
    const originalWidth = swap ? rawHeight : rawWidth;
    const originalHeight = swap ? rawWidth : rawHeight;
    const longSide = Math.max(originalWidth, originalHeight);
    const side = reducedSide(format, longSide, options.maxDimension, options.minReducedDimension);
    const { data, info } = await input
      .rotate()
      .resize({
        width: side,
        height: side,
        fit: 'inside',
        withoutEnlargement: true,
      })
      .removeAlpha()
      .toColourspace('srgb')
      .timeout({ seconds: options.timeoutSeconds })
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw invalid(`Unexpected channel count ${info.channels}`);
    const referenceScale = Math.max(1, longSide / options.maxDimension);
    // Report the exact ratio sharp produced (it rounds the scaled size).
    const scale = longSide <= side ? 1 : originalWidth / info.width;
    return {
      data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
      width: info.width,
      height: info.height,
      originalWidth,
      originalHeight,
      scale,
      reduction: referenceScale / scale,
      format,
    };
  } catch (err) {
    if (err instanceof FaceVerifyError) throw err;
    const message = err instanceof Error ? err.message : String(err);
    if (/pixel limit/i.test(message)) {
      throw new FaceVerifyError('IMAGE_TOO_LARGE', 'The image has too many pixels', undefined, {
        cause: err,
      });
    }
    if (/timeout/i.test(message)) {
      throw new FaceVerifyError('IMAGE_TOO_LARGE', 'Decoding the image took too long', undefined, {
        cause: err,
      });
    }
    throw invalid(`The ${format.toUpperCase()} file is corrupt or truncated`, err);
  }
}
