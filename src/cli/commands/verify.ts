import { formatVerify } from '../format.js';
import type { Command } from './command.js';
import { inputBytes, perCallOptions, requireArgs, verifierFor } from './shared.js';

export const verifyCommand: Command = async (ctx) => {
  const [a, b] = requireArgs(ctx, 2, 'verify A B [--json]') as [string, string];
  const options = perCallOptions(ctx);
  const [verifier, bytesA, bytesB] = await Promise.all([
    verifierFor(ctx),
    inputBytes(ctx, a),
    inputBytes(ctx, b),
  ]);
  try {
    const result = await verifier.verify(bytesA, bytesB, options);
    ctx.print(ctx.json ? JSON.stringify(result) : formatVerify(result, [a, b]));
    return 0;
  } finally {
    await verifier.close();
  }
};
