/**
 * `faceverify self-check`: proves the install works offline — the models are found, their sha256 is
 * right, they convert, ONNX Runtime loads them, and a blank image is answered with NO_FACE while the
 * embedder yields a unit vector, and an inference thread (what the service uses) starts and answers.
 * Prints timings. Exits non-zero if any step fails.
 */
import sharp from 'sharp';
import { verifierOptions } from '../../config/verifier-options.js';
import { FaceVerifyError } from '../../errors.js';
import { createAnalyzer } from '../../create-verifier.js';
import { analyzerFor } from './shared.js';
import type { Command } from './command.js';

export const selfCheckCommand: Command = async (ctx) => {
  const t0 = performance.now();
  const verifier = await analyzerFor(ctx);
  const loaded = performance.now() - t0;
  try {
    const blank = await sharp({ create: { width: 320, height: 240, channels: 3, background: '#808080' } })
      .png()
      .toBuffer();
    let noFace = false;
    try {
      await verifier.analyze(blank);
    } catch (err) {
      noFace = err instanceof FaceVerifyError && err.code === 'NO_FACE';
    }
    // The first single model (an ensemble's first member): enough to prove ONNX Runtime answers.
    const embedder = verifier.members[0];
    if (!embedder) throw new FaceVerifyError('MODEL_NOT_FOUND', 'No embedding model loaded');
    const size = embedder.manifest.inputSize;
    const image = {
      data: new Uint8Array(size * size * 3).map((_, i) => (i * 7) % 256),
      width: size,
      height: size,
      channels: 3,
    };
    const landmarks = embedder.manifest.template.map(([x, y]): [number, number] => [x + 0.5, y + 0.5]);
    const [e] = await embedder.embed([{ image, landmarks }]);
    const norm = Math.hypot(...(e ?? []));
    const checks = {
      models_loaded_ms: Math.round(loaded),
      blank_image_gives_no_face: noFace,
      embedding_is_unit: Math.abs(norm - 1) < 1e-4,
      inference_thread_answers: await threadAnswers(ctx, blank),
      model: verifier.model.id,
    };
    ctx.print(
      ctx.json
        ? JSON.stringify(checks)
        : Object.entries(checks)
            .map(([k, v]) => `${k}: ${String(v)}`)
            .join('\n'),
    );
    const ok =
      checks.blank_image_gives_no_face && checks.embedding_is_unit && checks.inference_thread_answers;
    if (!ctx.json) ctx.print(ok ? 'self-check passed' : 'self-check FAILED');
    return ok ? 0 : 1;
  } finally {
    await verifier.close();
  }
};

/** The service analyses on inference threads: one must start, load the models and answer NO_FACE. */
async function threadAnswers(ctx: Parameters<Command>[0], blank: Uint8Array): Promise<boolean> {
  const pool = await createAnalyzer(verifierOptions(ctx.config), 1);
  try {
    await pool.analyze(blank);
    return false;
  } catch (err) {
    return err instanceof FaceVerifyError && err.code === 'NO_FACE';
  } finally {
    await pool.close();
  }
}
