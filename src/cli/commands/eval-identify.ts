/**
 * `faceverify eval --identify --images DIR [--out DIR] [--cache FILE] [--fallback-min-face N] [--json]`:
 * LFW identification (1:N) of the configured model through a real gallery and its search
 * (src/eval/run-identify.ts, docs/identities.md). Face policy `center`, the search threshold a user
 * gets (the verification threshold raised for the gallery's size by SEARCH_FPIR), or exactly
 * `--threshold` when given; INFERENCE_THREADS threads. Without
 * `--fallback-min-face` the photos are analysed as the service analyses an enrolment or a search.
 * `--cache FILE` keeps every photo's analysis, so a second run only searches.
 */
import { verifierOptions } from '../../config/verifier-options.js';
import { createAnalyzer } from '../../create-verifier.js';
import { FaceVerifyError } from '../../errors.js';
import { AnalysisFileCache } from '../../eval/analysis-cache.js';
import { identifySummary, writeIdentifyReport } from '../../eval/identify-report.js';
import { runIdentify } from '../../eval/run-identify.js';
import { resolveAnalyzerOptions } from '../../pipeline/face-analyzer.js';
import { scoringSettings, Verifier } from '../../pipeline/verifier.js';
import type { CommandContext } from './command.js';
import { fallbackAnalyzer, perCallOptions, printReport, wholeNumber } from './shared.js';

const USAGE =
  'Usage: faceverify eval --identify --images DIR [--out DIR] [--cache FILE] [--fallback-min-face N] [--concurrency N] [--json]';

export async function identifyCommand(ctx: CommandContext): Promise<number> {
  const { images } = ctx.options;
  if (!images) throw new FaceVerifyError('INVALID_INPUT', USAGE);
  const fallbackMin = wholeNumber(ctx.options['fallback-min-face'], 0, 'fallback-min-face', 0);
  const perCall = perCallOptions(ctx);
  const { threads, ...rest } = verifierOptions(ctx.config);
  const concurrency = wholeNumber(ctx.options.concurrency, Math.max(2, 2 * (threads ?? 0)), 'concurrency', 1);
  const base = await resolveAnalyzerOptions(rest);
  const analyzer = await createAnalyzer(base, threads ?? 0);
  const verifier = new Verifier(
    analyzer,
    scoringSettings({
      ...rest,
      ...(perCall.threshold !== undefined ? { threshold: perCall.threshold } : {}),
      registry: base.registry,
    }),
  );
  const fallbackVerifier = await fallbackAnalyzer(base, analyzer, fallbackMin);
  const cache = ctx.options.cache ? await AnalysisFileCache.open(ctx.options.cache) : undefined;
  let last = 0;
  try {
    const run = await runIdentify({
      imagesDir: images,
      verifier,
      facePolicy: perCall.facePolicy ?? 'center',
      concurrency,
      // --threshold asks for the figures at exactly that threshold.
      searchFpir: perCall.threshold !== undefined ? 0 : ctx.config.searchFpir,
      ...(cache && { cache }),
      ...(fallbackVerifier && { fallbackVerifier }),
      onProgress: (p) => {
        const now = performance.now();
        if (ctx.json || (now - last < 5000 && p.done < p.total)) return;
        last = now;
        process.stderr.write(
          `${p.done}/${p.total} images, ${p.failed} failed, ${Math.round(p.elapsedMs / 1000)} s, about ${Math.round(p.etaMs / 1000)} s left\n`,
        );
      },
    });
    const files = ctx.options.out ? await writeIdentifyReport(run, ctx.options.out) : [];
    printReport(ctx, run.report, () => identifySummary(run.report), files);
    return 0;
  } finally {
    await Promise.all([verifier.close(), fallbackVerifier?.close()]);
  }
}
