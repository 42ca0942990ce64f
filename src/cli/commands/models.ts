import { verifierOptions } from '../../config/verifier-options.js';
import { FaceVerifyError } from '../../errors.js';
import type { ModelManifest, ModelSource } from '../../models/manifest.js';
import { DEFAULT_MODEL_CACHE_DIR, prepareModel } from '../../models/prepare.js';
import { ModelRegistry } from '../../models/registry.js';
import type { Command } from './index.js';

function sources(m: ModelManifest): [string, ModelSource][] {
  return m.kind === 'detector'
    ? Object.entries(m.stages).map(([stage, s]) => [`${m.name}-${stage}`, s])
    : [[m.name, m.source]];
}

export const modelsCommand: Command = async (ctx) => {
  const sub = ctx.args[0];
  const registry = new ModelRegistry();
  const cacheDir = verifierOptions(ctx.config).modelCacheDir ?? DEFAULT_MODEL_CACHE_DIR;
  if (sub === 'list') {
    const rows = registry.list().map((m) => ({
      name: m.name,
      kind: m.kind,
      description: m.description,
      license: m.license,
      ...(m.kind === 'embedder'
        ? { embedding_size: m.embeddingSize, input_size: m.inputSize, threshold: m.threshold, flip: m.flip }
        : {}),
      files: sources(m).map(([name, s]) => ({
        name,
        format: s.format,
        package: s.package,
        path: s.path,
        sha256: s.sha256,
      })),
      default: m.name === ctx.config.model || m.kind === 'detector',
    }));
    if (ctx.json) ctx.print(JSON.stringify(rows));
    else
      for (const r of rows) {
        ctx.print(`${r.default ? '*' : ' '} ${r.name} (${r.kind}): ${r.description}`);
        ctx.print(`    license: ${r.license}`);
      }
    return 0;
  }
  if (sub === 'prepare') {
    const results = [];
    for (const m of registry.list()) {
      for (const [name, source] of sources(m)) {
        const t = performance.now();
        const p = await prepareModel(name, source, cacheDir);
        results.push({
          name,
          converted: p.converted,
          path: p.cachePath,
          ms: Math.round(performance.now() - t),
        });
      }
    }
    if (ctx.json) ctx.print(JSON.stringify(results));
    else
      for (const r of results) {
        ctx.print(
          `${r.name}: ${r.converted ? 'converted' : 'cached'} ${r.path ?? '(in memory)'} (${r.ms} ms)`,
        );
      }
    return 0;
  }
  throw new FaceVerifyError('INVALID_INPUT', 'Usage: faceverify models list|prepare');
};
