/**
 * `faceverify serve` / `faceverify worker` as real child processes, for the tests that need several of
 * them on one Redis. The processes log at info level as JSON lines on stdout (pino), and tests wait
 * for those events — "faceverify is listening" (with the port the OS chose for PORT=0), "worker
 * started", "shutting down", the exit — instead of guessing with sleeps, random ports and retry
 * loops, which fail on a busy machine where starting a process can take many seconds.
 *
 * Every process goes through one `ServiceProcesses`, whose `stopAll()` (in afterEach or afterAll)
 * kills what is still running and waits for it to exit, so no worker of one test can take a task of
 * the next.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

const BIN = new URL('../../bin/faceverify.js', import.meta.url).pathname;

/** One pino record (the fields tests read). */
export interface LogRecord {
  msg?: string;
  [field: string]: unknown;
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ServiceProcess {
  readonly child: ChildProcess;
  /** The first record with this `msg` (one logged before the call counts); rejects if the process exits first. */
  logged(msg: string): Promise<LogRecord>;
  /** Resolves when the process has exited. */
  readonly exited: Promise<ExitStatus>;
  /** The API's base URL, once it listens (the real port when PORT is 0). */
  listening(): Promise<string>;
}

function start(args: string[], env: Record<string, string>): ServiceProcess {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const label = `[${args.join(' ')}${env.WORKER_NAME ? ` ${env.WORKER_NAME}` : ''}]`;
  const records: LogRecord[] = [];
  const waiters = new Set<() => void>();
  let stderr = '';
  createInterface({ input: child.stdout }).on('line', (line) => {
    let record: LogRecord;
    try {
      record = JSON.parse(line) as LogRecord;
    } catch {
      return; // not a log record
    }
    records.push(record);
    if (typeof record.level === 'number' && record.level >= 40) {
      process.stderr.write(`${label} ${line}\n`);
    }
    for (const wake of waiters) wake();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    process.stderr.write(`${label} ${chunk.toString()}`);
  });
  const exited = new Promise<ExitStatus>((resolve) => {
    child.once('exit', (code, signal) => {
      resolve({ code, signal });
      for (const wake of waiters) wake();
    });
  });

  const logged = (msg: string): Promise<LogRecord> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        const hit = records.find((r) => r.msg === msg);
        if (hit) {
          waiters.delete(check);
          resolve(hit);
        } else if (child.exitCode !== null || child.signalCode !== null) {
          waiters.delete(check);
          const how = String(child.exitCode ?? child.signalCode);
          reject(new Error(`${label} exited (${how}) before logging "${msg}"; stderr:\n${stderr}`));
        }
      };
      waiters.add(check);
      check();
    });

  return {
    child,
    logged,
    exited,
    listening: async () => {
      const { address } = await logged('faceverify is listening');
      if (typeof address !== 'string') throw new Error(`${label} logged no address`);
      return address;
    },
  };
}

/** The processes of one suite; `stopAll()` kills and awaits every one still running. */
export class ServiceProcesses {
  private readonly running = new Set<ServiceProcess>();

  start(args: string[], env: Record<string, string>): ServiceProcess {
    const p = start(args, env);
    this.running.add(p);
    void p.exited.then(() => this.running.delete(p));
    return p;
  }

  async stopAll(): Promise<void> {
    const all = [...this.running];
    for (const p of all) p.child.kill('SIGKILL');
    await Promise.all(all.map((p) => p.exited));
  }
}
