/**
 * Stage 3: validate the detections and choose the face to compare.
 *
 * - `strict` (the API's default, as in the reference): exactly one face, else `MULTIPLE_FACES`.
 * - `largest`: the face with the largest box.
 * - `center`: the face the LFW protocol code of InsightFace picks — the largest and most central,
 *   maximising area − 2·(distance of the box centre from the image centre)².
 */
import { boxArea } from '../core/box.js';
import { FaceVerifyError } from '../errors.js';
import type { DetectedFace } from './mtcnn/mtcnn.js';

/** Which face to compare when an image has several (the schema's list is in face-analysis.ts). */
export const FACE_POLICIES = ['strict', 'largest', 'center'] as const;
export type FacePolicy = (typeof FACE_POLICIES)[number];

/**
 * Picks one face according to the policy; throws `NO_FACE` / `MULTIPLE_FACES`.
 *
 * @example
 * const face = selectFace(faces, 'largest', { width: 640, height: 480 });
 */
export function selectFace(
  faces: readonly DetectedFace[],
  policy: FacePolicy,
  image: { width: number; height: number },
  describe: (faces: readonly DetectedFace[]) => unknown = () => undefined,
): DetectedFace {
  const first = faces[0];
  if (!first) throw new FaceVerifyError('NO_FACE');
  if (faces.length === 1) return first;
  if (policy === 'strict') {
    throw new FaceVerifyError(
      'MULTIPLE_FACES',
      `${faces.length} faces detected; send a photo with one face, or use face_policy "largest"`,
      { faces: describe(faces) },
    );
  }
  const cx = image.width / 2;
  const cy = image.height / 2;
  const rank = (f: DetectedFace): number => {
    if (policy === 'largest') return boxArea(f.box);
    const dx = (f.box.x1 + f.box.x2) / 2 - cx;
    const dy = (f.box.y1 + f.box.y2) / 2 - cy;
    return boxArea(f.box) - 2 * (dx * dx + dy * dy);
  };
  return faces.reduce((best, f) => (rank(f) > rank(best) ? f : best), first);
}
