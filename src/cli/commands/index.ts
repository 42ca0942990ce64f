/** The CLI's commands by name. */
import type { Command } from './command.js';

export type { Command, CommandContext } from './command.js';

/**
 * Commands load on use: `verify` should not pay for Fastify, BullMQ and ioredis at start-up (the
 * CLI's cold start is part of the product; see docs/performance.md).
 */
const lazy =
  (load: () => Promise<Command>): Command =>
  async (ctx) =>
    (await load())(ctx);

export const commands: Record<string, Command> = {
  verify: lazy(async () => (await import('./verify.js')).verifyCommand),
  detect: lazy(async () => (await import('./detect.js')).detectCommand),
  embed: lazy(async () => (await import('./embed.js')).embedCommand),
  eval: lazy(async () => (await import('./eval.js')).evalCommand),
  gallery: lazy(async () => (await import('./gallery.js')).galleryCommand),
  models: lazy(async () => (await import('./models.js')).modelsCommand),
  config: lazy(async () => (await import('./config.js')).configCommand),
  'self-check': lazy(async () => (await import('./self-check.js')).selfCheckCommand),
  serve: lazy(async () => (await import('./serve.js')).serveCommand),
  worker: lazy(async () => (await import('./serve.js')).workerCommand),
};
