import { drawFaces } from '../draw-faces.js';
import { describeFace } from '../format.js';
import type { Command } from './command.js';
import { analyzerFor, inputBytes, requireArgs } from './shared.js';

export const detectCommand: Command = async (ctx) => {
  const [input] = requireArgs(ctx, 1, 'detect IMG [--json] [--out FILE.png]') as [string];
  const [analyzer, bytes] = await Promise.all([analyzerFor(ctx), inputBytes(ctx, input)]);
  try {
    const { image, faces, reports } = await analyzer.detectAll(bytes);
    if (ctx.out) await drawFaces(image, faces, ctx.out);
    if (ctx.json) {
      ctx.print(JSON.stringify({ width: image.originalWidth, height: image.originalHeight, faces: reports }));
    } else {
      ctx.print(`${input}: ${image.originalWidth}×${image.originalHeight}, ${faces.length} face(s)`);
      reports.forEach((r, i) => ctx.print(`  ${i + 1}. ${describeFace(r)}`));
      if (ctx.out) ctx.print(`drawn to ${ctx.out}`);
    }
    return 0;
  } finally {
    await analyzer.close();
  }
};
