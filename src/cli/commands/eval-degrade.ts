/**
 * `faceverify eval --degrade --pairs PAIRS --images DIR [--out DIR] [--pairs-per-row 300] [--seed 1]
 * [--rows id,id] [--json]`: the robustness benchmark (docs/robustness.md). LFW pairs with the second
 * photo degraded, answered with the configured model at its shipped threshold (or
 * COSINE_SIMILARITY_THRESHOLD / --threshold), face policy `center`; INFERENCE_THREADS threads.
 */
import { verifierOptions } from '../../config/verifier-options.js';
import { FaceVerifyError } from '../../errors.js';
import { degradeSummary, writeDegradeReport } from '../../eval/degrade-report.js';
import { runDegrade } from '../../eval/run-degrade.js';
import { createVerifier } from '../../create-verifier.js';
import type { CommandContext } from './command.js';
import { perCallOptions, printReport, wholeNumber } from './shared.js';

export async function degradeCommand(ctx: CommandContext): Promise<number> {
  const { pairs, images } = ctx.options;
  if (!pairs || !images) {
    throw new FaceVerifyError(
      'INVALID_INPUT',
      'Usage: faceverify eval --degrade --pairs PAIRS --images DIR [--out DIR] [--pairs-per-row N] [--seed S] [--rows id,id] [--json]',
    );
  }
  const perRow = wholeNumber(ctx.options['pairs-per-row'], 300, 'pairs-per-row', 2);
  const seed = wholeNumber(ctx.options.seed, 1, 'seed', 0);
  const perCall = perCallOptions(ctx);
  const base = verifierOptions(ctx.config);
  const verifier = await createVerifier({
    ...base,
    ...(perCall.threshold !== undefined ? { threshold: perCall.threshold } : {}),
  });
  const concurrency = Number(ctx.options.concurrency ?? Math.max(2, 2 * (base.threads ?? 0)));
  try {
    const run = await runDegrade({
      pairsFile: pairs,
      imagesDir: images,
      verifier,
      pairsPerRow: perRow,
      seed,
      rows: ctx.options.rows?.split(',').map((r) => r.trim()),
      facePolicy: perCall.facePolicy ?? 'center',
      concurrency,
      onRow: (row, i, total) => {
        if (ctx.json) return;
        const what = row.skipped ? `skipped (${row.skipped})` : `${(row.accuracy * 100).toFixed(1)} %`;
        process.stderr.write(`row ${i + 1}/${total} ${row.id}: ${what}, ${row.seconds.toFixed(0)} s\n`);
      },
    });
    const files = ctx.options.out ? await writeDegradeReport(run, ctx.options.out) : [];
    printReport(ctx, run.report, () => degradeSummary(run.report), files);
    return 0;
  } finally {
    await verifier.close();
  }
}
