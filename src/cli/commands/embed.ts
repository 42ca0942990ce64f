import { describeFace } from '../format.js';
import type { Command } from './command.js';
import { inputBytes, perCallOptions, requireArgs, verifierFor } from './shared.js';

export const embedCommand: Command = async (ctx) => {
  const [input] = requireArgs(ctx, 1, 'embed IMG [--json]') as [string];
  const options = perCallOptions(ctx);
  const [verifier, bytes] = await Promise.all([verifierFor(ctx), inputBytes(ctx, input)]);
  try {
    const r = await verifier.analyze(bytes, options);
    const embedding = Array.from(r.embedding, (v) => Math.round(v * 1e6) / 1e6);
    if (ctx.json) {
      ctx.print(JSON.stringify({ model: verifier.modelName, model_id: r.modelId, face: r.face, embedding }));
    } else {
      ctx.print(`${input}: ${describeFace(r.face)}`);
      ctx.print(`${verifier.modelName} embedding (${embedding.length}-d, unit length):`);
      ctx.print(embedding.map((v) => v.toFixed(6)).join(' '));
    }
    return 0;
  } finally {
    await verifier.close();
  }
};
