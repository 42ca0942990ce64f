/**
 * Head pose (yaw, pitch, roll in degrees) from the five detector landmarks: a rough estimate, good for
 * telling a frontal face from a turned one, not a measurement.
 *
 * Model: a weak-perspective (orthographic) view of a rigid face in which the eyes and the mouth
 * corners lie in one plane and the nose tip stands `d` in front of it. With w the eye distance and h
 * the eye-to-mouth height in that plane:
 * - roll is the angle of the eye line (exact, in the image plane);
 * - after undoing roll, yaw θ moves the nose sideways by d·sin θ while the eye distance shrinks to
 *   w·cos θ, so (nose − eye/mouth midline) / eye distance = (d / w)·tan θ;
 * - pitch φ moves the nose vertically by d·sin φ while the eye-to-mouth height shrinks to h·cos φ, so
 *   (nose − eye line) / (mouth line − eye line) = t₀ − (d / h)·tan φ, t₀ being the frontal value.
 * The ratios d / w, d / h and t₀ are fitted on LFW (docs/quality.md): the mapping to degrees is rough
 * (MTCNN's nose landmark moves less than the real nose on turned faces, and faces differ), so read the
 * angles as ±10° or worse beyond 30°.
 *
 * Conventions: image pixels, x right, y down; landmarks left eye, right eye, nose, left mouth corner,
 * right mouth corner as seen in the image (MTCNN's order). Roll > 0 when the eye line goes down to the
 * right (the head tilted clockwise as seen); yaw > 0 when the nose is right of the midline (the face
 * turned towards the image's right); pitch > 0 when the nose is nearer the eyes than usual (looking up).
 */
import { FaceVerifyError } from '../errors.js';
import type { Point } from './similarity-transform.js';

export interface HeadPose {
  yaw: number;
  pitch: number;
  roll: number;
}

/** The face-shape ratios of the model above. */
export interface PoseModel {
  /** Nose depth over eye distance, d / w. */
  yawDepth: number;
  /** Nose depth over eye-to-mouth height, d / h. */
  pitchDepth: number;
  /** (nose − eye line) / (mouth line − eye line) on a frontal face. */
  frontalNoseRatio: number;
}

/** Fitted on LFW with MTCNN landmarks (docs/quality.md, bench/quality-fit.ts): the frontal ratio is LFW's
 * median; the depths are anthropometric (nose tip ≈ 22 mm in front of eyes and mouth corners, eyes 63 mm
 * apart, 73 mm from eye line to mouth line), not fitted. */
export const DEFAULT_POSE_MODEL: PoseModel = { yawDepth: 0.35, pitchDepth: 0.3, frontalNoseRatio: 0.54 };

const DEG = 180 / Math.PI;

function checkLandmarks(landmarks: readonly Point[]): void {
  if (landmarks.length !== 5 || !landmarks.every(([x, y]) => Number.isFinite(x) && Number.isFinite(y))) {
    throw new FaceVerifyError(
      'INTERNAL_ERROR',
      `head pose needs 5 finite landmarks, got ${landmarks.length}`,
    );
  }
}

/**
 * The distance between the eye landmarks, in the landmarks' pixels.
 *
 * @example
 * interocularDistance([[30, 50], [70, 50], [50, 70], [35, 90], [65, 90]]); // 40
 */
export function interocularDistance(landmarks: readonly Point[]): number {
  checkLandmarks(landmarks);
  const [[lx, ly], [rx, ry]] = landmarks as [Point, Point];
  return Math.hypot(rx - lx, ry - ly);
}

/**
 * Yaw, pitch and roll in degrees from five landmarks.
 *
 * @example
 * headPose([[30, 50], [70, 50], [50, 70], [35, 90], [65, 90]]); // { yaw: 0, pitch: 0, roll: 0 }
 */
export function headPose(landmarks: readonly Point[], model: PoseModel = DEFAULT_POSE_MODEL): HeadPose {
  checkLandmarks(landmarks);
  const [le, re, nose, lm, rm] = landmarks as [Point, Point, Point, Point, Point];
  const roll = Math.atan2(re[1] - le[1], re[0] - le[0]);
  const eyes: Point = [(le[0] + re[0]) / 2, (le[1] + re[1]) / 2];
  const mouth: Point = [(lm[0] + rm[0]) / 2, (lm[1] + rm[1]) / 2];
  // Undo roll around the eye midpoint: u along the eye line, v perpendicular to it (down the face).
  const cos = Math.cos(roll);
  const sin = Math.sin(roll);
  const local = ([x, y]: Point): Point => {
    const dx = x - eyes[0];
    const dy = y - eyes[1];
    return [dx * cos + dy * sin, -dx * sin + dy * cos];
  };
  const n = local(nose);
  const m = local(mouth);
  const w = Math.hypot(re[0] - le[0], re[1] - le[1]);
  const round1 = (rad: number): number => Math.round(rad * DEG * 10) / 10 + 0; // + 0: no −0
  if (!(w > 0) || !(m[1] > 0)) return { yaw: NaN, pitch: NaN, roll: round1(roll) };
  const midline = m[0] / 2; // between the eye midpoint (u = 0) and the mouth midpoint
  const yaw = Math.atan((n[0] - midline) / w / model.yawDepth);
  const pitch = Math.atan((model.frontalNoseRatio - n[1] / m[1]) / model.pitchDepth);
  return { yaw: round1(yaw), pitch: round1(pitch), roll: round1(roll) };
}
