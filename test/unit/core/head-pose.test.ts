/**
 * Head pose from five landmarks: roll is exact geometry; yaw and pitch invert the weak-perspective face
 * model of src/core/head-pose.ts, so landmarks projected from that model at a known angle must give
 * the angle back. A failure means a sign or an axis is wrong.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_POSE_MODEL, headPose, interocularDistance } from '../../../src/core/head-pose.js';
import type { Point } from '../../../src/core/similarity-transform.js';

/** A symmetric frontal face: eyes 40 apart, nose at the model's frontal ratio, mouth 46 below the eyes. */
const FRONTAL: Point[] = [
  [80, 100],
  [120, 100],
  [100, 100 + 46 * DEFAULT_POSE_MODEL.frontalNoseRatio],
  [85, 146],
  [115, 146],
];

function rotate(points: readonly Point[], degrees: number, [cx, cy]: Point): Point[] {
  const a = (degrees * Math.PI) / 180;
  return points.map(([x, y]) => [
    cx + (x - cx) * Math.cos(a) - (y - cy) * Math.sin(a),
    cy + (x - cx) * Math.sin(a) + (y - cy) * Math.cos(a),
  ]);
}

/** The model's face turned by yaw θ / pitch φ, seen orthographically (eyes and mouth in one plane). */
function project(yawDeg: number, pitchDeg: number): Point[] {
  const w = 40;
  const h = 46;
  const d = DEFAULT_POSE_MODEL.yawDepth * w;
  const t = (yawDeg * Math.PI) / 180;
  const p = (pitchDeg * Math.PI) / 180;
  const eyeY = -h * DEFAULT_POSE_MODEL.frontalNoseRatio;
  const mouthY = eyeY + h;
  // Pitch rotates about x (y' = y cos φ − z sin φ, looking up moves the nose up); yaw about y.
  const pts: [number, number, number][] = [
    [-w / 2, eyeY, 0],
    [w / 2, eyeY, 0],
    [0, 0, d],
    [-15, mouthY, 0],
    [15, mouthY, 0],
  ];
  return pts.map(([x, y, z]): Point => {
    const y1 = y * Math.cos(p) - z * Math.sin(p);
    const z1 = y * Math.sin(p) + z * Math.cos(p);
    return [200 + x * Math.cos(t) + z1 * Math.sin(t), 200 + y1];
  });
}

describe('headPose', () => {
  it('gives 0, 0, 0 for a symmetric frontal face', () => {
    expect(headPose(FRONTAL)).toEqual({ yaw: 0, pitch: 0, roll: 0 });
  });

  it.each([-170, -90, -30, -5, 10, 45, 120])(
    'gives the roll a face was rotated by (%d°), yaw and pitch unchanged',
    (deg) => {
      const pose = headPose(rotate(FRONTAL, deg, [37, -12]));
      expect(pose.roll).toBeCloseTo(deg, 1);
      expect(pose.yaw).toBeCloseTo(0, 1);
      expect(pose.pitch).toBeCloseTo(0, 1);
    },
  );

  it.each([-60, -30, -10, 15, 40])('inverts the face model for yaw %d°', (deg) => {
    const pose = headPose(project(deg, 0), {
      ...DEFAULT_POSE_MODEL,
      pitchDepth: (DEFAULT_POSE_MODEL.yawDepth * 40) / 46,
    });
    expect(pose.yaw).toBeCloseTo(deg, 1);
    expect(pose.roll).toBeCloseTo(0, 1);
  });

  it.each([-40, -15, 20, 35])('inverts the face model for pitch %d° (positive: looking up)', (deg) => {
    const pose = headPose(project(0, deg), {
      ...DEFAULT_POSE_MODEL,
      pitchDepth: (DEFAULT_POSE_MODEL.yawDepth * 40) / 46,
    });
    expect(pose.pitch).toBeCloseTo(deg, 1);
    expect(pose.yaw).toBeCloseTo(0, 1);
  });

  it('negates yaw and roll for the mirror image (left and right landmarks swapped)', () => {
    const face = rotate(project(25, 10), 12, [200, 200]);
    const mirror = ([x, y]: Point): Point => [400 - x, y];
    const [le, re, n, lm, rm] = face.map(mirror) as [Point, Point, Point, Point, Point];
    const a = headPose(face);
    const b = headPose([re, le, n, rm, lm]);
    expect(b.yaw).toBeCloseTo(-a.yaw, 1);
    expect(b.roll).toBeCloseTo(-a.roll, 1);
    expect(b.pitch).toBeCloseTo(a.pitch, 1);
  });

  it('reports no yaw or pitch (NaN) when the mouth is not below the eyes', () => {
    const flipped = FRONTAL.map(([x, y]): Point => [x, 300 - y]);
    const [le, re, n, lm, rm] = flipped as [Point, Point, Point, Point, Point];
    const pose = headPose([le, re, n, lm, rm]);
    expect(pose.yaw).toBeNaN();
    expect(pose.pitch).toBeNaN();
  });

  it('refuses anything but five finite landmarks (a bug between stages)', () => {
    expect(() => headPose(FRONTAL.slice(0, 4))).toThrow(/5 finite landmarks/);
    expect(() => headPose([...FRONTAL.slice(0, 4), [NaN, 1]])).toThrow(/5 finite landmarks/);
  });
});

describe('interocularDistance', () => {
  it('is the eye-to-eye distance, whatever the rotation', () => {
    expect(interocularDistance(FRONTAL)).toBe(40);
    expect(interocularDistance(rotate(FRONTAL, 33, [0, 0]))).toBeCloseTo(40, 9);
  });
});
