/** What a CLI command is: a function of its context that returns the process exit code. */
import type { Config } from '../../config/config.js';
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

export type Command = (ctx: CommandContext) => Promise<number>;
