/**
 * The rows of the robustness benchmark: issue #15's table (the photos people send) and the sweeps
 * (one degradation at growing strength). Each row is one degradation of the second photo of every
 * pair; a row can belong to the table and to a sweep at once, and is then measured once.
 */
import type { Degradation } from './degrade.js';

export interface DegradeRow {
  id: string;
  label: string;
  degradation: Degradation;
  /** Shown in the main table. */
  table: boolean;
  /** The sweep it belongs to and its parameter there (the x axis of the sweep's plot). */
  sweep?: { name: SweepName; param: number };
}

export type SweepName =
  'downscale' | 'jpeg' | 'brightness' | 'gamma' | 'noise' | 'occlusion' | 'blur' | 'tilt';

export const SWEEPS: Record<SweepName, { title: string; axis: string }> = {
  downscale: { title: 'Downscaled photo', axis: 'longer side of the photo, px (LFW: 250)' },
  jpeg: { title: 'JPEG quality', axis: 'JPEG quality' },
  brightness: { title: 'Darker photo (brightness factor)', axis: 'brightness factor' },
  gamma: { title: 'Darker mid-tones (gamma)', axis: 'gamma (out = in^gamma)' },
  noise: { title: 'Sensor noise', axis: 'gaussian noise σ, levels of 255' },
  occlusion: { title: 'Lower face covered', axis: 'fraction of the face covered from the chin up' },
  blur: { title: 'Blur', axis: 'gaussian blur σ, px' },
  tilt: { title: 'Tilted photo', axis: 'tilt, degrees' },
};

const row = (
  id: string,
  label: string,
  degradation: Degradation,
  table: boolean,
  sweep?: DegradeRow['sweep'],
): DegradeRow => ({ id, label, degradation, table, ...(sweep ? { sweep } : {}) });

/** All rows, table rows first. */
export const DEGRADE_ROWS: readonly DegradeRow[] = [
  row('none', 'as it is', { kind: 'none' }, true),
  row('rotate-exif-90', 'rotated 90° with the EXIF tag that undoes it', { kind: 'rotate-exif' }, true),
  row('rotate-90', 'rotated 90° without EXIF', { kind: 'rotate', degrees: 90 }, true),
  row('rotate-180', 'rotated 180° without EXIF', { kind: 'rotate', degrees: 180 }, true),
  row('rotate-270', 'rotated 270° without EXIF', { kind: 'rotate', degrees: 270 }, true),
  row('tilt-25', 'tilted 25°', { kind: 'tilt', degrees: 25 }, true, { name: 'tilt', param: 25 }),
  row('downscale-150', 'downscaled to 150 px', { kind: 'downscale', size: 150 }, true, {
    name: 'downscale',
    param: 150,
  }),
  row(
    'embed-12mp',
    'in a 12 MP (4000×3000) phone photo',
    { kind: 'embed', width: 4000, height: 3000, faceFraction: 0.25 },
    true,
  ),
  row('jpeg-8', 'JPEG quality 8', { kind: 'jpeg', quality: 8 }, true, { name: 'jpeg', param: 8 }),
  row('blur-2.5', 'blur σ 2.5', { kind: 'blur', sigma: 2.5 }, true, { name: 'blur', param: 2.5 }),
  row('grayscale', 'grayscale', { kind: 'grayscale' }, true),
  row('dark-0.22', 'dark (22 % brightness)', { kind: 'darken', factor: 0.22, gamma: 1 }, true, {
    name: 'brightness',
    param: 0.22,
  }),
  row(
    'backlit',
    'backlit (bright background, head and shoulders at 30 %)',
    { kind: 'backlit', faceFactor: 0.3, background: 0.7, shape: 'silhouette' },
    true,
  ),
  row('occlude-eyes', 'a grey bar over the eyes', { kind: 'occlude', part: 'eyes', fraction: 0 }, true),
  row('mask', 'a surgical mask drawn over nose and mouth', { kind: 'mask' }, true),
  row('heic', 'saved as HEIC (quality 50)', { kind: 'heic', quality: 50 }, true),
  ...[200, 100, 75, 50].map((size) =>
    row(`downscale-${size}`, `downscaled to ${size} px`, { kind: 'downscale', size }, false, {
      name: 'downscale',
      param: size,
    }),
  ),
  ...[30, 15, 5, 3].map((quality) =>
    row(`jpeg-${quality}`, `JPEG quality ${quality}`, { kind: 'jpeg', quality }, false, {
      name: 'jpeg',
      param: quality,
    }),
  ),
  ...[0.5, 0.3, 0.15, 0.1].map((factor) =>
    row(`dark-${factor}`, `brightness × ${factor}`, { kind: 'darken', factor, gamma: 1 }, false, {
      name: 'brightness',
      param: factor,
    }),
  ),
  ...[1.5, 2, 3, 4].map((gamma) =>
    row(`gamma-${gamma}`, `gamma ${gamma}`, { kind: 'darken', factor: 1, gamma }, false, {
      name: 'gamma',
      param: gamma,
    }),
  ),
  ...[10, 20, 35, 50].map((sigma) =>
    row(`noise-${sigma}`, `noise σ ${sigma}`, { kind: 'noise', sigma }, false, {
      name: 'noise',
      param: sigma,
    }),
  ),
  ...[0.2, 0.35, 0.5, 0.65].map((fraction) =>
    row(
      `occlude-lower-${fraction}`,
      `lower ${Math.round(fraction * 100)} % of the face covered`,
      { kind: 'occlude', part: 'lower', fraction },
      false,
      { name: 'occlusion', param: fraction },
    ),
  ),
  ...[1.5, 2, 3, 4].map((sigma) =>
    row(`blur-${sigma}`, `blur σ ${sigma}`, { kind: 'blur', sigma }, false, { name: 'blur', param: sigma }),
  ),
  ...[15, 40].map((degrees) =>
    row(`tilt-${degrees}`, `tilted ${degrees}°`, { kind: 'tilt', degrees }, false, {
      name: 'tilt',
      param: degrees,
    }),
  ),
  row(
    'backlit-oval',
    'bright background, a dark oval cut across the face (30 %)',
    { kind: 'backlit', faceFactor: 0.3, background: 0.7, shape: 'face-oval' },
    false,
  ),
];

/** Whether a row's degradation is placed with the original photo's landmarks. */
export function needsLandmarks(d: Degradation): boolean {
  return d.kind === 'mask' || d.kind === 'occlude' || d.kind === 'backlit';
}
