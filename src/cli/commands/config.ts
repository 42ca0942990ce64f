import { envExample } from '../../config/config.js';
import { FaceVerifyError } from '../../errors.js';
import type { Command } from './index.js';

export const configCommand: Command = (ctx) => {
  if (ctx.args[0] !== 'example') {
    return Promise.reject(new FaceVerifyError('INVALID_INPUT', 'Usage: faceverify config example'));
  }
  ctx.print(envExample());
  return Promise.resolve(0);
};
