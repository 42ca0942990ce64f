/** Human-readable output of the CLI (the `--json` output is the library's result as is). */
import type { FaceReport } from '../pipeline/face-analysis.js';
import type { VerifyResult } from '../pipeline/verify-result.js';

export function describeFace(f: FaceReport): string {
  const b = f.box;
  return `face at (${Math.round(b.x)}, ${Math.round(b.y)}) ${Math.round(b.width)}×${Math.round(b.height)} px, score ${f.score.toFixed(3)}`;
}

export function formatVerify(r: VerifyResult, names: [string, string]): string {
  const t = r.threshold;
  return [
    `${r.is_match ? 'Same person' : 'Different people'} (confidence of a match ${(r.confidence * 100).toFixed(1)} %)`,
    `  cosine similarity   ${r.metrics.cosine_similarity.toFixed(4)}  (match when ≥ ${t.cosine_similarity.toFixed(4)})`,
    `  euclidean distance  ${r.metrics.euclidean_distance.toFixed(4)}  (match when ≤ ${t.euclidean_distance.toFixed(4)})`,
    `  ${names[0]}: ${describeFace(r.faces[0])}`,
    `  ${names[1]}: ${describeFace(r.faces[1])}`,
    `  model ${r.model}, ${(r.processing_time * 1000).toFixed(0)} ms`,
  ].join('\n');
}
