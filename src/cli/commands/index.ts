/** The CLI's commands by name. */
import type { Config } from '../../config/config.js';
import { configCommand } from './config.js';
import { detectCommand } from './detect.js';
import { evalCommand } from './eval.js';
import { embedCommand } from './embed.js';
import { modelsCommand } from './models.js';
import { selfCheckCommand } from './self-check.js';
import { serveCommand, workerCommand } from './serve.js';
import { verifyCommand } from './verify.js';

export interface CommandContext {
  args: string[];
  json: boolean;
  facePolicy: string | undefined;
  threshold: string | undefined;
  out: string | undefined;
  /** Every --option given, by name (for commands with options of their own). */
  options: Record<string, string | undefined>;
  config: Config;
  print: (text: string) => void;
}

/** A command returns the process exit code. */
export type Command = (ctx: CommandContext) => Promise<number>;

export const commands: Record<string, Command> = {
  verify: verifyCommand,
  detect: detectCommand,
  embed: embedCommand,
  eval: evalCommand,
  models: modelsCommand,
  config: configCommand,
  'self-check': selfCheckCommand,
  serve: serveCommand,
  worker: workerCommand,
};
