// The fault suite's own stack: scripts/stack.sh with its own folder and ports, so stopping its broker
// or its PostgreSQL never disturbs the dev stack (19092/15432) or the test stack (29092/25432).
// Single broker by default; `--cluster` starts three KRaft nodes (stack.sh start --cluster) and the
// broker faults then hit one node at a time.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { MikroORM } from '@mikro-orm/postgresql';
import { sleep } from '../scan-harness.js';

export interface ChaosStackOptions {
  readonly root: string;
  readonly cluster: boolean;
  readonly log: (line: string) => void;
  /** Another pair than the defaults lets a second suite run beside the first (its own folder too). */
  readonly kafkaPort?: number;
  readonly pgPort?: number;
}

// Below Linux's ephemeral range (32768-60999): an app's listen(0) can never take them while a broker starts.
export const CHAOS_KAFKA_PORT = 27192;
export const CHAOS_PG_PORT = 27432;

/** Runs a command with a deadline; resolves with its exit code and output, never rejects. */
export function runBounded(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv, timeoutMs: number, cwd?: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => {
      out += `\n[chaos] ${cmd} ${args.join(' ')}: no exit within ${timeoutMs} ms, killed`;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* gone */
      }
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

export class ChaosStack {
  readonly dir: string;
  readonly nodes: number;
  readonly brokers: string;
  private readonly kafkaPort: number;
  private readonly pgPort: number;

  constructor(private readonly opts: ChaosStackOptions) {
    this.kafkaPort = opts.kafkaPort ?? CHAOS_KAFKA_PORT;
    this.pgPort = opts.pgPort ?? CHAOS_PG_PORT;
    const own = this.kafkaPort === CHAOS_KAFKA_PORT && this.pgPort === CHAOS_PG_PORT ? '' : `-${this.kafkaPort}-${this.pgPort}`;
    this.dir = join(opts.root, `${opts.cluster ? '.stack-chaos-cluster' : '.stack-chaos'}${own}`);
    this.nodes = opts.cluster ? 3 : 1;
    this.brokers = Array.from({ length: this.nodes }, (_, i) => `127.0.0.1:${this.kafkaPort + 2 * i}`).join(',');
  }

  get logDir(): string {
    return join(this.dir, 'logs');
  }

  /** Environment for stack.sh: the caller's Kafka/PostgreSQL settings must not leak into this stack. */
  private env(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const k of ['KAFKA_BROKERS', 'DATABASE_URL', 'FALCORIA_EXTERNAL_KAFKA', 'FALCORIA_EXTERNAL_PG', 'FALCORIA_LOCAL_DATABASE_URL', 'FALCORIA_LOG_DIR', 'FALCORIA_KAFKA_BROKERS_COUNT', 'KAFKA_HEAP']) delete env[k];
    return {
      ...env,
      FALCORIA_STACK_DIR: this.dir,
      KAFKA_PORT: String(this.kafkaPort),
      KAFKA_CONTROLLER_PORT: String(this.kafkaPort + 1),
      PG_PORT: String(this.pgPort),
      ...(this.opts.cluster ? { FALCORIA_KAFKA_BROKERS_COUNT: '3' } : {}),
    };
  }

  private async script(args: string[], timeoutMs: number): Promise<string> {
    const r = await runBounded('bash', [join(this.opts.root, 'scripts/stack.sh'), ...args], this.env(), timeoutMs, this.opts.root);
    if (r.code !== 0) throw new Error(`stack.sh ${args.join(' ')} failed (${r.code}):\n${r.out.trim().split('\n').slice(-15).join('\n')}`);
    return r.out;
  }

  /** A fresh stack: whatever an earlier run left in the folder is stopped and removed first. */
  async start(): Promise<void> {
    if (existsSync(this.dir)) {
      await this.script(['stop'], 180000).catch((e) => this.opts.log(`stopping a stack left by an earlier run: ${(e as Error).message}`));
      rmSync(this.dir, { recursive: true, force: true });
    }
    this.opts.log(`starting the chaos stack in ${this.dir} (Kafka ${this.brokers}, PostgreSQL 127.0.0.1:${this.pgPort})`);
    await this.script(this.opts.cluster ? ['start', '--cluster'] : ['start'], 400000);
    await this.waitBrokers(this.nodes, 180000);
  }

  /** Stops everything; the data is removed unless kept, the logs stay for a post-mortem. */
  async stop(keepData: boolean): Promise<void> {
    await this.script(['stop'], 180000).catch((e) => this.opts.log((e as Error).message));
    if (!keepData) for (const d of ['kafka', 'kafka-cluster', 'pg', 'run']) rmSync(join(this.dir, d), { recursive: true, force: true });
  }

  adminUrl(): string {
    return `postgres://postgres@127.0.0.1:${this.pgPort}/postgres`;
  }

  databaseUrl(name: string): string {
    return `postgres://postgres@127.0.0.1:${this.pgPort}/${name}`;
  }

  async createDatabase(name: string): Promise<string> {
    const admin = await MikroORM.init({ clientUrl: this.adminUrl(), entities: [], discovery: { warnWhenNoEntities: false }, pool: { min: 0, max: 1 } });
    try {
      await admin.em.fork().execute(`create database ${name}`);
    } finally {
      await admin.close();
    }
    return this.databaseUrl(name);
  }

  async dropDatabase(name: string): Promise<void> {
    const admin = await MikroORM.init({ clientUrl: this.adminUrl(), entities: [], discovery: { warnWhenNoEntities: false }, pool: { min: 0, max: 1 } });
    try {
      await admin.em.fork().execute(`drop database if exists ${name} with (force)`);
    } finally {
      await admin.close();
    }
  }

  /** Broker ids (1-based) whose process is alive. */
  liveBrokers(): number[] {
    const run = join(this.dir, 'run');
    const alive = (f: string) => {
      try {
        process.kill(Number(readFileSync(join(run, f), 'utf8').trim()), 0);
        return true;
      } catch {
        return false;
      }
    };
    if (!this.opts.cluster) return alive('kafka.pid') ? [1] : [];
    return Array.from({ length: this.nodes }, (_, i) => i + 1).filter((n) => alive(`kafka-${n}.pid`));
  }

  /**
   * Stops one broker: SIGKILL (a crash) or SIGTERM (a clean shutdown). A single broker is signalled
   * here (stack.sh's kill-broker is for cluster nodes); a cluster node through stack.sh.
   */
  async stopBroker(node: number, how: 'kill' | 'term'): Promise<void> {
    if (this.opts.cluster) {
      await this.script([how === 'kill' ? 'kill-broker' : 'stop-broker', String(node)], 120000);
      return;
    }
    const pidFile = join(this.dir, 'run', 'kafka.pid');
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    process.kill(pid, how === 'kill' ? 'SIGKILL' : 'SIGTERM');
    for (let i = 0; i < 1200; i++) {
      try {
        process.kill(pid, 0);
      } catch {
        return;
      }
      await sleep(100);
    }
    process.kill(pid, 'SIGKILL');
    await sleep(500);
  }

  /** Starts a stopped broker again and waits until the cluster answers metadata with every node. */
  async startBroker(node: number): Promise<void> {
    if (this.opts.cluster) await this.script(['start-broker', String(node)], 300000);
    else await this.script(['start'], 300000);
    await this.waitBrokers(this.nodes, 180000);
  }

  private pgBin(): string {
    if (process.env.PG_BIN) return process.env.PG_BIN;
    const base = '/usr/lib/postgresql';
    const versions = existsSync(base) ? readdirSync(base).sort((a, b) => Number(b) - Number(a)) : [];
    for (const v of versions) if (existsSync(join(base, v, 'bin', 'pg_ctl'))) return join(base, v, 'bin');
    return '';
  }

  /** fast: clients are disconnected, a clean shutdown; immediate: no shutdown checkpoint, crash recovery at the next start. */
  async stopPostgres(mode: 'fast' | 'immediate'): Promise<void> {
    const bin = this.pgBin();
    const pgCtl = bin ? join(bin, 'pg_ctl') : 'pg_ctl';
    const args = ['-D', join(this.dir, 'pg', 'data'), '-m', mode, '-w', '-t', '60', 'stop'];
    const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
    const r = asRoot ? await runBounded('runuser', ['-u', 'postgres', '--', pgCtl, ...args], this.env(), 90000) : await runBounded(pgCtl, args, this.env(), 90000);
    if (r.code !== 0) throw new Error(`pg_ctl stop -m ${mode} failed: ${r.out.trim()}`);
  }

  async startPostgres(): Promise<void> {
    await this.script(['start'], 300000);
  }

  /** Waits until `n` brokers answer (metadata through any of them). */
  async waitBrokers(n: number, timeoutMs: number): Promise<void> {
    const { default: kafkajs } = await import('kafkajs');
    const kafka = new kafkajs.Kafka({ brokers: this.brokers.split(','), logLevel: kafkajs.logLevel.NOTHING, connectionTimeout: 3000, retry: { retries: 0 } });
    const until = Date.now() + timeoutMs;
    for (let i = 0; Date.now() < until && i < 10000; i++) {
      const admin = kafka.admin();
      try {
        await admin.connect();
        const c = await admin.describeCluster();
        if (c.brokers.length >= n && c.controller !== null) return;
      } catch {
        /* not yet */
      } finally {
        await admin.disconnect().catch(() => undefined);
      }
      await sleep(500);
    }
    throw new Error(`the chaos stack's Kafka did not show ${n} broker(s) within ${timeoutMs / 1000} s`);
  }
}

/** Command lines of running nmap processes whose last argument is one of these addresses. */
export function nmapProcessesFor(ips: ReadonlySet<string>): string[] {
  const r = spawnSync('ps', ['-eo', 'args'], { encoding: 'utf8', timeout: 10000 });
  return (r.stdout ?? '')
    .split('\n')
    .filter((l) => /(^|\/)nmap /.test(l))
    .filter((l) => ips.has(l.trimEnd().split(' ').pop() ?? ''));
}
