/**
 * One-side degradations for the robustness benchmark (`faceverify eval --degrade`): each turns a real
 * photo into the kind of photo people actually send — sideways scans, dark or backlit shots, small or
 * heavily compressed copies, phone-sized canvases, masks — with sharp, deterministically (seeded).
 *
 * Output: a JPEG at quality 95 with 4:4:4 chroma (so the degradation, not the re-encoding, is what is
 * measured), except `jpeg` (its own quality), `rotate-exif` (JPEG with the EXIF tag that undoes the
 * turn) and `heic` (a HEIC from heif-enc; see heic-encoder.ts). No metadata is kept otherwise: a
 * turned photo carries no EXIF orientation, like a scan or a re-saved phone photo.
 *
 * Face geometry (backlit, occlusions, mask) comes from the five landmarks of the ORIGINAL photo
 * (left eye, right eye, nose, left and right mouth corner, in its pixels), which the caller gets from
 * the library's `analyze()`.
 */
import sharp, { type Sharp } from 'sharp';
import { FaceVerifyError } from '../errors.js';
import { encodeHeic } from './heic-encoder.js';
import { seededRandom, gaussian } from './seeded-random.js';

/** Points as `[x, y]` pairs. */
export type Landmarks = readonly (readonly number[])[];

export type Degradation =
  | { kind: 'none' }
  /** Pixels turned clockwise by `degrees`, no EXIF: the photo really is sideways. */
  | { kind: 'rotate'; degrees: 90 | 180 | 270 }
  /** Pixels turned 90° anti-clockwise, with EXIF Orientation 6 that turns them back for display. */
  | { kind: 'rotate-exif' }
  /** Turned clockwise by `degrees` (any angle), the corners filled with the mean colour. */
  | { kind: 'tilt'; degrees: number }
  /** Scaled so the longer side is `size` pixels. */
  | { kind: 'downscale'; size: number }
  /**
   * Scaled to `faceFraction` of the height of a `width` × `height` canvas (a phone photo), centred.
   */
  | { kind: 'embed'; width: number; height: number; faceFraction: number }
  | { kind: 'jpeg'; quality: number }
  | { kind: 'blur'; sigma: number }
  | { kind: 'grayscale' }
  /** out = 255 · factor · (in / 255)^gamma (factor < 1 or gamma > 1 darken). */
  | { kind: 'darken'; factor: number; gamma: number }
  /** Gaussian noise of standard deviation `sigma` (0–255 levels) on every channel. */
  | { kind: 'noise'; sigma: number }
  /**
   * A bright background (`background` of the way to white) and a dark subject (`faceFactor` of its
   * brightness): the head and shoulders (`silhouette`, the default) or only an oval on the face.
   */
  | { kind: 'backlit'; faceFactor: number; background: number; shape?: BacklitShape }
  /** A grey rectangle over the eyes (`part: 'eyes'`) or over the lower `fraction` of the face. */
  | { kind: 'occlude'; part: 'eyes' | 'lower'; fraction: number }
  /** A light-blue surgical-mask-like polygon from just below the eyes to the chin. */
  | { kind: 'mask' }
  | { kind: 'heic'; quality: number };

export type BacklitShape = 'silhouette' | 'face-oval';

export interface DegradeContext {
  /** Seed of the noise; the same seed gives the same bytes. */
  seed: number;
  /** The original photo's five landmarks (needed by backlit, occlude and mask). */
  landmarks?: Landmarks;
}

interface Raw {
  data: Buffer;
  width: number;
  height: number;
}

const OUTPUT_JPEG = { quality: 95, chromaSubsampling: '4:4:4' } as const;

async function rawOf(image: Sharp): Promise<Raw> {
  const { data, info } = await image
    .removeAlpha()
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

function jpegOf(raw: Raw): Promise<Buffer> {
  return sharp(raw.data, { raw: { width: raw.width, height: raw.height, channels: 3 } })
    .jpeg(OUTPUT_JPEG)
    .toBuffer();
}

const clamp = (v: number): number => (v < 0 ? 0 : v > 255 ? 255 : Math.round(v));

function needLandmarks(ctx: DegradeContext): Landmarks {
  if (!ctx.landmarks || ctx.landmarks.length < 5) {
    throw new FaceVerifyError('INVALID_INPUT', 'This degradation needs the five landmarks of the photo');
  }
  return ctx.landmarks;
}

/** The face's frame from its landmarks: eye centre, unit vectors along and across the eyes, sizes. */
export function faceFrame(landmarks: Landmarks): {
  /** Midpoint of the eyes. */
  eyes: [number, number];
  /** Unit vector from the left to the right eye. */
  across: [number, number];
  /** Unit vector from the eyes down towards the mouth (perpendicular to `across`). */
  down: [number, number];
  /** Distance between the eyes. */
  eyeDistance: number;
  /** Distance from the eyes' midpoint to the mouth's, along `down`. */
  eyeToMouth: number;
  /** A point in face coordinates (units of eyeDistance across, eyeToMouth down) to image pixels. */
  at: (u: number, v: number) => [number, number];
} {
  const point = (k: number): [number, number] => [landmarks[k]?.[0] ?? 0, landmarks[k]?.[1] ?? 0];
  const [le, re, ml, mr] = [point(0), point(1), point(3), point(4)];
  const eyes: [number, number] = [(le[0] + re[0]) / 2, (le[1] + re[1]) / 2];
  const eyeDistance = Math.hypot(re[0] - le[0], re[1] - le[1]);
  const across: [number, number] = [(re[0] - le[0]) / eyeDistance, (re[1] - le[1]) / eyeDistance];
  const down: [number, number] = [-across[1], across[0]];
  const mouth = [(ml[0] + mr[0]) / 2, (ml[1] + mr[1]) / 2];
  const eyeToMouth = (mouth[0]! - eyes[0]) * down[0] + (mouth[1]! - eyes[1]) * down[1];
  const at = (u: number, v: number): [number, number] => [
    eyes[0] + u * eyeDistance * across[0] + v * eyeToMouth * down[0],
    eyes[1] + u * eyeDistance * across[1] + v * eyeToMouth * down[1],
  ];
  return { eyes, across, down, eyeDistance, eyeToMouth, at };
}

/**
 * The mask's outline in image pixels: from just below the eyes (0.35 of the way to the mouth) over the
 * nose and cheeks down to the chin, about 2.2 eye distances wide.
 */
export function maskPolygon(landmarks: Landmarks): [number, number][] {
  const f = faceFrame(landmarks);
  const outline: [number, number][] = [
    [-1.1, 0.35],
    [-0.35, 0.3],
    [0.35, 0.3],
    [1.1, 0.35],
    [1.15, 1.0],
    [0.95, 1.6],
    [0.4, 2.0],
    [-0.4, 2.0],
    [-0.95, 1.6],
    [-1.15, 1.0],
  ];
  return outline.map(([u, v]) => f.at(u, v));
}

/** An SVG of the same size as the photo with the given filled polygons (sharp draws it over the photo). */
function overlaySvg(
  width: number,
  height: number,
  shapes: { points: [number, number][]; fill: string }[],
): Buffer {
  const polys = shapes
    .map(
      (s) =>
        `<polygon points="${s.points.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(' ')}" fill="${s.fill}"/>`,
    )
    .join('');
  return Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${polys}</svg>`,
  );
}

/** A rectangle in face coordinates (u across, v down) as a polygon in image pixels. */
function faceRect(landmarks: Landmarks, u0: number, u1: number, v0: number, v1: number): [number, number][] {
  const f = faceFrame(landmarks);
  return [f.at(u0, v0), f.at(u1, v0), f.at(u1, v1), f.at(u0, v1)];
}

async function withOverlay(
  bytes: Uint8Array,
  shapes: { points: [number, number][]; fill: string }[],
): Promise<Buffer> {
  const meta = await sharp(bytes).metadata();
  const width = meta.width ?? 0;
  const height = meta.height ?? 0;
  const flat = await sharp(bytes)
    .composite([{ input: overlaySvg(width, height, shapes), left: 0, top: 0 }])
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return jpegOf({ data: flat.data, width: flat.info.width, height: flat.info.height });
}

/** Every pixel through a lookup table (the same for the three channels). */
async function mapLevels(bytes: Uint8Array, f: (v: number) => number): Promise<Buffer> {
  const raw = await rawOf(sharp(bytes));
  const lut = new Uint8Array(256);
  for (let v = 0; v < 256; v++) lut[v] = clamp(f(v));
  for (let i = 0; i < raw.data.length; i++) raw.data[i] = lut[raw.data[i]!]!;
  return jpegOf(raw);
}

/**
 * How much of a pixel belongs to the backlit subject (1 inside, 0 outside, a soft edge between).
 * - `silhouette`: the whole head (hair and ears included) and the neck and shoulders below it, as a
 *   camera exposing for a bright window or sky renders a person standing in front of it: the edge of
 *   the dark region follows the head's outline, not a line across the face.
 * - `face-oval`: only an oval around the face (1.15 eye distances across, 1.7 eye-to-mouth down); its
 *   soft edge runs across the cheeks and forehead, which brightens part of the face itself (the row
 *   issue #15 first measured, kept for comparison).
 */
function subjectMask(f: ReturnType<typeof faceFrame>, shape: BacklitShape): (x: number, y: number) => number {
  const soft = (r: number, inner: number, outer: number): number =>
    r <= inner ? 1 : r >= outer ? 0 : (outer - r) / (outer - inner);
  const local = (x: number, y: number, centre: [number, number]): [number, number] => {
    const dx = x - centre[0];
    const dy = y - centre[1];
    return [
      (dx * f.across[0] + dy * f.across[1]) / f.eyeDistance,
      (dx * f.down[0] + dy * f.down[1]) / f.eyeToMouth,
    ];
  };
  if (shape === 'face-oval') {
    const centre = f.at(0, 0.6);
    return (x, y) => {
      const [u, v] = local(x, y, centre);
      return soft(Math.hypot(u / 1.15, v / 1.7), 0.85, 1.15);
    };
  }
  // Head: an ellipse from above the hair (v = -2.1) to below the chin (v = 2.1), ears included
  // (|u| ≤ 1.6). Neck and shoulders: from the chin down to the photo's edge, widening from 0.8 to 3
  // eye distances on each side. Edges soft over about a tenth of the head's width (focus and flare).
  const centre = f.at(0, 0);
  return (x, y) => {
    const [u, v] = local(x, y, centre);
    const head = soft(Math.hypot(u / 1.6, v / 2.1), 0.92, 1.08);
    if (v < 1.4) return head;
    const halfWidth = Math.min(3, 0.8 + Math.max(0, v - 1.8) * 1.5);
    return Math.max(head, soft(Math.abs(u) / halfWidth, 0.92, 1.08));
  };
}

async function backlit(
  bytes: Uint8Array,
  d: { faceFactor: number; background: number; shape?: BacklitShape },
  lm: Landmarks,
): Promise<Buffer> {
  const inside = subjectMask(faceFrame(lm), d.shape ?? 'silhouette');
  const raw = await rawOf(sharp(bytes));
  for (let y = 0; y < raw.height; y++) {
    for (let x = 0; x < raw.width; x++) {
      const w = inside(x, y);
      const i = (y * raw.width + x) * 3;
      for (let c = 0; c < 3; c++) {
        const v0 = raw.data[i + c]!;
        const dark = v0 * d.faceFactor;
        const bright = v0 + (255 - v0) * d.background;
        raw.data[i + c] = clamp(w * dark + (1 - w) * bright);
      }
    }
  }
  return jpegOf(raw);
}

async function noise(bytes: Uint8Array, sigma: number, seed: number): Promise<Buffer> {
  const raw = await rawOf(sharp(bytes));
  const next = gaussian(seededRandom(seed));
  for (let i = 0; i < raw.data.length; i++) raw.data[i] = clamp(raw.data[i]! + sigma * next());
  return jpegOf(raw);
}

async function meanColour(bytes: Uint8Array): Promise<{ r: number; g: number; b: number }> {
  const { channels } = await sharp(bytes).stats();
  return { r: channels[0]?.mean ?? 128, g: channels[1]?.mean ?? 128, b: channels[2]?.mean ?? 128 };
}

async function embed(
  bytes: Uint8Array,
  d: { width: number; height: number; faceFraction: number },
): Promise<Buffer> {
  const meta = await sharp(bytes).metadata();
  const h = Math.round(d.height * d.faceFraction);
  const w = Math.round(((meta.width ?? 1) / (meta.height ?? 1)) * h);
  const photo = await sharp(bytes).resize(w, h, { kernel: 'lanczos3' }).toBuffer();
  // Centred, as a phone photo frames its subject: the face policy `center` (area − 2·distance² from
  // the image's centre) then ranks the faces as on the photo itself, both terms scaled alike. Placed
  // anywhere else it would pick whichever background face landed nearer the canvas's centre
  // (measured: 7 of 150 same-person pairs compared with a background face at a random spot).
  const left = Math.round((d.width - w) / 2);
  const top = Math.round((d.height - h) / 2);
  const bg = await meanColour(bytes);
  return sharp({ create: { width: d.width, height: d.height, channels: 3, background: bg } })
    .composite([{ input: photo, left, top }])
    .jpeg({ quality: 90 })
    .toBuffer();
}

/**
 * Makes one degraded copy of a photo.
 *
 * @example
 * const sideways = await degrade(bytes, { kind: 'rotate', degrees: 90 }, { seed: 1 });
 * const masked = await degrade(bytes, { kind: 'mask' }, { seed: 1, landmarks: analysis.face.landmarks });
 */
export async function degrade(bytes: Uint8Array, d: Degradation, ctx: DegradeContext): Promise<Buffer> {
  const input = (): Sharp => sharp(bytes).autoOrient();
  switch (d.kind) {
    case 'none':
      return Buffer.from(bytes);
    case 'rotate':
      return input().rotate(d.degrees).jpeg(OUTPUT_JPEG).toBuffer();
    case 'rotate-exif':
      return input().rotate(-90).jpeg(OUTPUT_JPEG).withMetadata({ orientation: 6 }).toBuffer();
    case 'tilt':
      return input()
        .rotate(d.degrees, { background: await meanColour(bytes) })
        .jpeg(OUTPUT_JPEG)
        .toBuffer();
    case 'downscale':
      return input()
        .resize(d.size, d.size, { fit: 'inside', kernel: 'lanczos3' })
        .jpeg(OUTPUT_JPEG)
        .toBuffer();
    case 'embed':
      return embed(bytes, d);
    case 'jpeg':
      return input().jpeg({ quality: d.quality }).toBuffer();
    case 'blur':
      return input().blur(d.sigma).jpeg(OUTPUT_JPEG).toBuffer();
    case 'grayscale':
      return input().grayscale().jpeg(OUTPUT_JPEG).toBuffer();
    case 'darken':
      return mapLevels(bytes, (v) => 255 * d.factor * (v / 255) ** d.gamma);
    case 'noise':
      return noise(bytes, d.sigma, ctx.seed);
    case 'backlit':
      return backlit(bytes, d, needLandmarks(ctx));
    case 'occlude': {
      const lm = needLandmarks(ctx);
      const points =
        d.part === 'eyes'
          ? faceRect(lm, -1.0, 1.0, -0.3, 0.3)
          : faceRect(lm, -1.2, 1.2, 2.0 - d.fraction * 2.4, 2.0);
      return withOverlay(bytes, [{ points, fill: '#6e6e6e' }]);
    }
    case 'mask': {
      const lm = needLandmarks(ctx);
      return withOverlay(bytes, [{ points: maskPolygon(lm), fill: '#a9d4ec' }]);
    }
    case 'heic':
      return encodeHeic(await input().png().toBuffer(), d.quality);
  }
}
