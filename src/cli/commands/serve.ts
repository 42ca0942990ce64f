/**
 * `faceverify serve [--no-worker]` runs the HTTP API (and, by default, a worker in the same process);
 * `faceverify worker` runs a worker only (needs REDIS_URL). SIGTERM and SIGINT shut down gracefully:
 * stop accepting requests, let running tasks finish (BullMQ hands unfinished ones to other workers),
 * close Redis.
 */
import { createService, type Role, type Service } from '../../container.js';
import { FaceVerifyError } from '../../errors.js';
import type { Command, CommandContext } from './index.js';

function untilSignal(service: Service): Promise<number> {
  return new Promise((resolve) => {
    let closing = false;
    const stop = (signal: string): void => {
      if (closing) return;
      closing = true;
      service.logger.info({ signal }, 'shutting down');
      const force = setTimeout(() => {
        service.logger.error('shutdown took too long; exiting');
        process.exit(1); // something still holds the event loop open: leave anyway
      }, 30_000);
      force.unref();
      service
        .close()
        .then(() => resolve(0))
        .catch((err: unknown) => {
          service.logger.error({ err }, 'error while shutting down');
          resolve(1);
        });
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}

async function run(ctx: CommandContext, role: Role): Promise<number> {
  const service = await createService(ctx.config, role);
  if (service.app) {
    const address = await service.app.listen({ port: ctx.config.port, host: ctx.config.host });
    service.logger.info({ address, role, queue: service.queue.backend }, 'faceverify is listening');
  }
  return untilSignal(service);
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
