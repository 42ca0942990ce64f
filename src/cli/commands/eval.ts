/**
 * `faceverify eval --pairs PAIRS --images DIR [--out DIR] [--json]`: the LFW protocol evaluation of the
 * configured model (see docs/accuracy.md). `--cache FILE` keeps every image's analysis for the next run
 * (src/eval/analysis-cache.ts). `--identify` is the 1:N evaluation (eval-identify.ts). Faces are chosen with the `center` policy, as the field does
 * on LFW; images where no face of MIN_FACE_SIZE is found get a second look with a smaller minimum
 * (`--fallback-min-face`, 0 to turn off), and the report says how often that happened.
 */
import { verifierOptions } from '../../config/verifier-options.js';
import { FaceVerifyError } from '../../errors.js';
import { reportSummary, writeEvalReport } from '../../eval/report.js';
import { runEval } from '../../eval/run-eval.js';
import { createAnalyzer } from '../../create-verifier.js';
import type { Command } from './command.js';
import { AnalysisFileCache } from '../../eval/analysis-cache.js';
import { degradeCommand } from './eval-degrade.js';
import { identifyCommand } from './eval-identify.js';
import { fallbackAnalyzer, perCallOptions, printReport } from './shared.js';

export const evalCommand: Command = async (ctx) => {
  if (ctx.options.degrade) return degradeCommand(ctx);
  if (ctx.options.identify) return identifyCommand(ctx);
  const { pairs, images } = ctx.options;
  if (!pairs || !images) {
    throw new FaceVerifyError(
      'INVALID_INPUT',
      'Usage: faceverify eval --pairs PAIRS --images DIR [--out DIR] [--cache FILE] [--json]',
    );
  }
  const fallbackMin = Number(ctx.options['fallback-min-face'] ?? 20);
  const concurrency = Number(ctx.options.concurrency ?? 4);
  if (
    !Number.isInteger(fallbackMin) ||
    fallbackMin < 0 ||
    !Number.isInteger(concurrency) ||
    concurrency < 1
  ) {
    throw new FaceVerifyError('INVALID_INPUT', '--fallback-min-face and --concurrency must be whole numbers');
  }
  const { threads, ...base } = verifierOptions(ctx.config);
  const verifier = await createAnalyzer(base, threads ?? 0);
  const fallbackVerifier = await fallbackAnalyzer(base, verifier, fallbackMin);
  const cache = ctx.options.cache ? await AnalysisFileCache.open(ctx.options.cache) : undefined;
  let last = 0;
  try {
    const run = await runEval({
      ...(cache && { cache }),
      pairsFile: pairs,
      imagesDir: images,
      verifier,
      fallbackVerifier,
      facePolicy: perCallOptions(ctx).facePolicy ?? 'center',
      concurrency,
      onProgress: (p) => {
        const now = performance.now();
        if (ctx.json || (now - last < 1000 && p.done < p.total)) return;
        last = now;
        const line = `${p.done}/${p.total} images, ${p.failed} failed, ${Math.round(p.elapsedMs / 1000)} s, about ${Math.round(p.etaMs / 1000)} s left`;
        if (process.stderr.isTTY) process.stderr.write(`\r${line}   `);
        else process.stderr.write(`${line}\n`);
      },
    });
    if (!ctx.json && process.stderr.isTTY) process.stderr.write('\n');
    const files = ctx.options.out ? await writeEvalReport(run, ctx.options.out) : [];
    printReport(ctx, run.report, () => reportSummary(run.report), files);
    return 0;
  } finally {
    await Promise.all([verifier.close(), fallbackVerifier?.close()]);
  }
};
