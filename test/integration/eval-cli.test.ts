/**
 * `faceverify eval` end to end on a small slice of the real LFW View 2 list (the first 15 same-person
 * and 15 different-person pairs of fold 1): the CLI reads the pairs format, embeds the images, and the
 * pipeline separates the pairs. A broken alignment or embedding drops this far below 90 %.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { describeWithFaces, facePath, HAVE_FACES } from '../support/faces.js';

const run = promisify(execFile);
const BIN = new URL('../../bin/faceverify.js', import.meta.url).pathname;

describeWithFaces('faceverify eval', () => {
  // No limit of its own on the run: the test's timeout is the hang guard, and its signal kills the run.
  it('reports accuracy, AUC and calibration on an LFW slice', async ({ signal }) => {
    const lines = HAVE_FACES ? readFileSync(facePath('lfw/pairs.txt'), 'utf8').split('\n') : [];
    const slice = ['1 15', ...lines.slice(1, 16), ...lines.slice(301, 316)].join('\n');
    const dir = mkdtempSync(join(tmpdir(), 'fv-eval-'));
    const pairs = join(dir, 'pairs.txt');
    writeFileSync(pairs, `${slice}\n`);
    const { stdout } = await run(
      process.execPath,
      [
        BIN,
        'eval',
        '--pairs',
        pairs,
        '--images',
        facePath('lfw/images'),
        '--json',
        '--out',
        join(dir, 'report'),
      ],
      { signal },
    );
    const report = JSON.parse(stdout) as { counts: { pairs: number }; metrics: { auc: number } };
    expect(report.counts.pairs).toBe(30);
    expect(report.metrics.auc).toBeGreaterThan(0.9);
    expect(readFileSync(join(dir, 'report', 'roc.svg'), 'utf8')).toContain('<svg');
  });
});
