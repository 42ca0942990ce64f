/**
 * `faceverify serve [--no-worker]` runs the HTTP API (and, by default, a worker in the same process);
 * `faceverify worker` runs a worker only (needs REDIS_URL). SIGTERM and SIGINT shut down gracefully:
 * stop accepting requests, let running tasks finish (BullMQ hands unfinished ones to other workers),
 * close Redis — also when the signal comes during start-up (the service finishes starting, without
 * listening, then stops).
 */
import { createService, type Role, type Service } from '../../container.js';
import { FaceVerifyError } from '../../errors.js';
import type { Command, CommandContext } from './command.js';

/**
 * The first SIGTERM or SIGINT, listened for from before the service starts: a worker claims tasks as
 * soon as it is created, and a signal in that window would otherwise kill it outright (Node's default
 * action) instead of letting its task finish. A second signal still ends the process at once.
 */
function firstSignal(): { received: () => string | undefined; signal: Promise<string> } {
  let received: string | undefined;
  const signal = new Promise<string>((resolve) => {
    const on = (name: string): void => {
      received ??= name;
      resolve(name);
    };
    process.once('SIGTERM', () => on('SIGTERM'));
    process.once('SIGINT', () => on('SIGINT'));
  });
  return { received: () => received, signal };
}

async function shutDownOn(signal: Promise<string>, service: Service): Promise<number> {
  service.logger.info({ signal: await signal }, 'shutting down');
  const force = setTimeout(() => {
    service.logger.error('shutdown took too long; exiting');
    process.exit(1); // something still holds the event loop open: leave anyway
  }, 30_000);
  force.unref();
  try {
    await service.close();
    return 0;
  } catch (err) {
    service.logger.error({ err }, 'error while shutting down');
    return 1;
  }
}

async function run(ctx: CommandContext, role: Role): Promise<number> {
  const { received, signal } = firstSignal();
  const service = await createService(ctx.config, role);
  if (service.app && !received()) {
    const address = await service.app.listen({ port: ctx.config.port, host: ctx.config.host });
    service.logger.info({ address, role, queue: service.queue.backend }, 'faceverify is listening');
  }
  return shutDownOn(signal, service);
}

export const serveCommand: Command = (ctx) => run(ctx, ctx.options['no-worker'] ? 'api' : 'both');

export const workerCommand: Command = (ctx) => {
  if (!ctx.config.redisUrl) {
    return Promise.reject(
      new FaceVerifyError('INVALID_INPUT', 'faceverify worker needs REDIS_URL (the queue lives in Redis)'),
    );
  }
  return run(ctx, 'worker');
};
