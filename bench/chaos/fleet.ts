// The apps of one scenario as real processes (the built apps in dist/), each with its own log file
// under the chaos stack's logs folder. Every wait is bounded.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { api, freePort, root, sleep } from '../scan-harness.js';

export type AppKind = 'ledger' | 'tasker' | 'worker';

const MAIN: Record<AppKind, string> = {
  ledger: 'dist/apps/ledger-projector/src/main.js',
  tasker: 'dist/apps/tasker/src/main.js',
  worker: 'dist/apps/worker/src/main.js',
};
const PORT_VAR: Record<AppKind, string> = { ledger: 'LEDGER_PORT', tasker: 'TASKER_PORT', worker: 'WORKER_PORT' };

export interface App {
  readonly name: string;
  readonly kind: AppKind;
  readonly url: string;
  readonly child: ChildProcess;
  readonly extra: Record<string, string>;
  /** Set when the process exited, whoever ended it. */
  exit?: { code: number | null; signal: NodeJS.Signals | null; expected: boolean };
}

export interface FleetOptions {
  readonly scenario: string;
  readonly brokers: string;
  readonly databaseUrl: string;
  readonly prefix: string;
  readonly logDir: string;
  readonly replicationFactor: number;
}

export async function waitReady(url: string, timeoutMs: number, alive: () => boolean = () => true): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (let i = 0; i < timeoutMs / 100 + 10; i++) {
    if ((await fetch(`${url}/ready`, { signal: AbortSignal.timeout(5000) }).then((r) => r.status).catch(() => 0)) === 200) return;
    if (!alive()) throw new Error(`${url}: the process exited before it was ready`);
    if (Date.now() > until) break;
    await sleep(200);
  }
  throw new Error(`${url} not ready within ${Math.round(timeoutMs / 1000)} s`);
}

export class Fleet {
  readonly apps: App[] = [];
  private serial = 0;
  token = '';

  constructor(private readonly opts: FleetOptions) {
    mkdirSync(opts.logDir, { recursive: true });
  }

  get prefix(): string {
    return this.opts.prefix;
  }

  private baseEnv(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const k of Object.keys(env)) if (/^(LEDGER_|TASKER_|WORKER_|KAFKA_|CONSUMER_)/.test(k)) delete env[k];
    return {
      ...env,
      KAFKA_BROKERS: this.opts.brokers,
      DATABASE_URL: this.opts.databaseUrl,
      KAFKA_TOPIC_PREFIX: this.opts.prefix,
      KAFKA_REPLICATION_FACTOR: String(this.opts.replicationFactor),
      // CHAOS_APP_LOG_LEVEL=info keeps every task's start and end in the apps' logs, for a post-mortem.
      LOG_LEVEL: process.env.CHAOS_APP_LOG_LEVEL ?? 'warn',
      HTTP_HOST: '127.0.0.1',
    };
  }

  live(kind?: AppKind): App[] {
    return this.apps.filter((a) => !a.exit && (!kind || a.kind === kind));
  }

  /** Processes that ended without being told to: a finding in itself. */
  unexpectedExits(): App[] {
    return this.apps.filter((a) => a.exit && !a.exit.expected);
  }

  async start(kind: AppKind, extra: Record<string, string> = {}, name = `${kind}-${++this.serial}`, readyMs = 120000): Promise<App> {
    const port = await freePort();
    const log = openSync(join(this.opts.logDir, `${this.opts.scenario}-${name}.log`), 'a');
    const env = { ...this.baseEnv(), [PORT_VAR[kind]]: String(port), ...(kind === 'worker' ? { WORKER_ID: name } : {}), ...extra };
    const child = spawn(process.execPath, ['--disable-warning=TimeoutNegativeWarning', join(root, MAIN[kind])], { env, cwd: root, stdio: ['ignore', log, log] });
    closeSync(log);
    const app: App = { name, kind, url: `http://127.0.0.1:${port}`, child, extra };
    child.once('exit', (code, signal) => {
      app.exit ??= { code, signal, expected: false };
    });
    this.apps.push(app);
    await waitReady(app.url, readyMs, () => !app.exit);
    return app;
  }

  /** Ends a process with a signal and waits (bounded) until it is gone. */
  async kill(app: App, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (app.exit) return;
    app.exit = { code: null, signal, expected: true };
    const gone = new Promise<void>((r) => (app.child.exitCode !== null || app.child.signalCode !== null ? r() : app.child.once('exit', () => r())));
    app.child.kill(signal);
    await Promise.race([gone, sleep(signal === 'SIGKILL' ? 10000 : 20000)]);
    if (app.child.exitCode === null && app.child.signalCode === null) {
      app.child.kill('SIGKILL');
      await Promise.race([gone, sleep(10000)]);
    }
  }

  /** The same app again (same name, same settings), on a new port. */
  restart(app: App, readyMs = 120000): Promise<App> {
    return this.start(app.kind, app.extra, app.name, readyMs);
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.live().map((a) => this.kill(a, 'SIGTERM')));
  }

  /** The first admin token, from the ledger's admin CLI, then a wait until a ledger knows it. */
  async bootstrap(ledgerUrl: string): Promise<string> {
    const boot = spawnSync(process.execPath, ['--disable-warning=TimeoutNegativeWarning', join(root, 'dist/apps/ledger-projector/src/admin.js'), 'bootstrap'], {
      env: this.baseEnv(),
      encoding: 'utf8',
      timeout: 120000,
    });
    const token = /shown once\): (\S+)/.exec(boot.stdout ?? '')?.[1];
    if (!token) throw new Error(`admin bootstrap failed: ${boot.stdout}${boot.stderr}`);
    for (let i = 0; i < 300; i++) {
      if ((await api(ledgerUrl, token, 'GET', '/auth/whoami').catch(() => ({ status: 0 }))).status === 200) {
        this.token = token;
        return token;
      }
      await sleep(200);
    }
    throw new Error('the ledger never learnt the bootstrap admin');
  }
}
