import { envExample, envMarkdown } from '../../config/config.js';
import { FaceVerifyError } from '../../errors.js';
import type { Command } from './command.js';

export const configCommand: Command = (ctx) => {
  const sub = ctx.args[0];
  if (sub !== 'example' && sub !== 'markdown') {
    return Promise.reject(new FaceVerifyError('INVALID_INPUT', 'Usage: faceverify config example|markdown'));
  }
  ctx.print(sub === 'example' ? envExample() : envMarkdown());
  return Promise.resolve(0);
};
