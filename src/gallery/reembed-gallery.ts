/**
 * Moves a gallery to another embedding model from the face chips kept at enrolment (RETAIN_FACE_CROPS,
 * src/pipeline/face-chip.ts), as a resumable job (`faceverify gallery reembed GALLERY --model NAME`).
 *
 * Crash-safe by construction: the new templates are built beside the live ones (`reembed_templates`),
 * one face at a time, and the gallery switches model in one transaction only once every face has its
 * new template — so search sees the gallery all in the old model or all in the new one, never a mix.
 * A killed run leaves the gallery as it was plus some staged templates; running again picks up where
 * it stopped (a run to another model starts over). Faces enrolled meanwhile are embedded before the
 * switch; faces deleted meanwhile drop their staged template with them.
 *
 * Faces without a retained chip cannot be re-embedded: the job refuses up front with
 * FACE_CROPS_MISSING, naming their subjects, who must be enrolled again. The embedder is anything that
 * embeds a chip with the target model (a FaceAnalyzer of that model); the store does not know models.
 */
import { FaceVerifyError } from '../errors.js';
import type { Actor, GalleryStore, ReembedStatus } from './gallery-store.js';

/** What the job needs of the target model. */
export interface ChipEmbedder {
  readonly model: { id: string; embeddingSize: number };
  embedFaceChip(chip: Uint8Array): Promise<Float32Array>;
}

export interface ReembedProgress {
  gallery: string;
  model: string;
  faces: number;
  /** Faces with their new template so far (those of an earlier, interrupted run included). */
  done: number;
}

export interface ReembedOptions {
  gallery: string;
  actor: Actor;
  /** Faces read per query. */
  batchSize?: number;
  onProgress?: (progress: ReembedProgress) => void;
}

export interface ReembedResult {
  gallery: string;
  from: string;
  to: string;
  faces: number;
  /** Faces embedded by this run (the rest were staged by an earlier one). */
  embedded: number;
  /** Faces an earlier, interrupted run had already embedded. */
  resumed: number;
  /** false when the gallery already was in the model (nothing to do). */
  switched: boolean;
}

/**
 * FACE_CROPS_MISSING for a gallery with faces that have no chip.
 *
 * @example
 * if (status.without_crop > 0) throw cropsMissing(status, 'dlib-resnet@…');
 */
export function cropsMissing(status: ReembedStatus, modelId: string): FaceVerifyError {
  const more = status.without_crop > status.subjects_without_crop.length ? ', …' : '';
  return new FaceVerifyError(
    'FACE_CROPS_MISSING',
    `${status.without_crop} of ${status.faces} faces in gallery "${status.gallery}" were enrolled without ` +
      `a retained face crop (RETAIN_FACE_CROPS), so they cannot be re-embedded with ${modelId}; enrol ` +
      `these subjects again from photos (or delete them) first: ${status.subjects_without_crop.join(', ')}${more}`,
    {
      gallery: status.gallery,
      faces_without_crop: status.without_crop,
      subjects: status.subjects_without_crop,
    },
  );
}

/**
 * Re-embeds every face of a gallery with `embedder`'s model and switches the gallery to it.
 *
 * @example
 * const dlib = await FaceAnalyzer.create({ model: 'dlib-resnet' });
 * await reembedGallery(store, dlib, { gallery: 'staff', actor: 'cli', onProgress: console.log });
 */
export async function reembedGallery(
  store: GalleryStore,
  embedder: ChipEmbedder,
  options: ReembedOptions,
): Promise<ReembedResult> {
  const { gallery, actor } = options;
  const to = embedder.model.id;
  const start = await store.reembedStatus(gallery, to);
  const result = { gallery, from: start.model, to, faces: start.faces, embedded: 0, resumed: start.staged };
  if (start.model === to) return { ...result, resumed: 0, switched: false };
  if (start.without_crop > 0) throw cropsMissing(start, to);
  let done = start.staged;
  let faces = start.faces;
  const report = () => options.onProgress?.({ gallery, model: to, faces, done });
  report();
  for (;;) {
    const batch = await store.facesToReembed(gallery, to, options.batchSize ?? 50);
    for (const face of batch) {
      const embedding = await embedder.embedFaceChip(face.crop);
      await store.stageReembedded({ gallery, faceId: face.face_id, modelId: to, embedding, crop: face.crop });
      result.embedded += 1;
      done += 1;
      report();
    }
    if (batch.length > 0) continue;
    const switched = await store.switchModel(gallery, to, embedder.model.embeddingSize, actor);
    if (switched.switched) return { ...result, faces: switched.faces, switched: true };
    // Nothing left to embed, yet faces are missing: enrolled meanwhile without a crop.
    const now = await store.reembedStatus(gallery, to);
    if (now.without_crop > 0) throw cropsMissing(now, to);
    faces = now.faces;
    done = now.staged;
  }
}
