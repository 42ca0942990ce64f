/**
 * `faceverify eval --degrade` end to end on a few real LFW pairs: the report says the undegraded
 * pairs are answered right, every pair of a degraded row is answered, report.json keeps every pair's
 * outcome with both photos' analyses, and report.md has the quality filter's error-versus-reject curve.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { describeWithFaces, facePath } from '../support/faces.js';

const run = promisify(execFile);
const BIN = new URL('../../bin/faceverify.js', import.meta.url).pathname;

interface Report {
  threshold: number;
  rows: { id: string; pairs: number; accuracy: number; tar: number; errorsByCode: Record<string, number> }[];
  records: { row: string; outcome: { kind: string }; analysisB: { face: { landmarks: unknown[] } } | null }[];
  images: Record<string, { face?: unknown }>;
}

describeWithFaces('faceverify eval --degrade', () => {
  it('measures rows of degraded LFW pairs at the shipped threshold and writes the report', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fv-degrade-'));
    await run(
      process.execPath,
      [
        BIN,
        'eval',
        '--degrade',
        '--pairs',
        facePath('lfw/pairs.txt'),
        '--images',
        facePath('lfw/images'),
        '--pairs-per-row',
        '8',
        '--rows',
        'none,rotate-90,jpeg-30,jpeg-15',
        '--out',
        dir,
        '--json',
      ],
      { env: { ...process.env, INFERENCE_THREADS: '0' } },
    );
    const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as Report;
    expect(report.threshold).toBeGreaterThan(0.2);
    const none = report.rows.find((r) => r.id === 'none')!;
    expect(none.pairs).toBe(8);
    expect(none.accuracy).toBeGreaterThanOrEqual(7 / 8);
    // Every pair of a row is answered (a score or an error), whatever the orientation search finds.
    expect(report.rows.find((r) => r.id === 'rotate-90')!.pairs).toBe(8);
    expect(report.records.filter((r) => r.row === 'rotate-90')).toHaveLength(8);
    const kept = report.records.find((r) => r.row === 'none' && r.analysisB);
    expect(kept?.analysisB?.face.landmarks).toHaveLength(5);
    expect(Object.values(report.images).some((i) => i.face)).toBe(true);
    expect(readFileSync(join(dir, 'report.md'), 'utf8')).toContain('rotated 90° without EXIF');
    expect(readFileSync(join(dir, 'sweep-jpeg.svg'), 'utf8')).toContain('<svg');
    // The quality filter's error-versus-reject curve, ranked by quality.score.
    expect(readFileSync(join(dir, 'report.md'), 'utf8')).toContain('## Quality filter: error versus reject');
    expect(readFileSync(join(dir, 'reject-curve.svg'), 'utf8')).toContain('<svg');
  }, 60_000);
});
