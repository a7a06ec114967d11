// Shared by the scanning benchmarks: the apps as their own processes (so each one's memory is its
// own), a fresh database and topic prefix per run, and the stack from KAFKA_BROKERS / DATABASE_URL.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { MikroORM } from '@mikro-orm/postgresql';

export const brokers = process.env.KAFKA_BROKERS ?? '127.0.0.1:19092';
export const dbBase = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:15432/falcoria';
export const root = new URL('../..', import.meta.url).pathname;

export const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Peak and current resident set of a process, MiB (Linux /proc). */
export function rssMb(pid: number): { peak: number; now: number } {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+) kB`).exec(s)?.[1] ?? NaN) / 1024;
  return { peak: kb('VmHWM'), now: kb('VmRSS') };
}

const clockTick = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** CPU seconds of a process and its reaped children (a worker's nmap runs, a postmaster's backends), from /proc. */
export function cpuSeconds(pid: number): number {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / clockTick;
  } catch {
    return NaN;
  }
}

/** The pid of the process listening on a local TCP port (Linux /proc), if this user can see it. */
export function listenerPid(port: number): number | undefined {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f[1]?.endsWith(hex) && f[3] === '0A') inodes.add(f[9]);
    }
  }
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${d}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${d}/fd/${fd}`));
        if (m && inodes.has(m[1])) return Number(d);
      } catch {
        // gone meanwhile
      }
    }
  }
  return undefined;
}

/**
 * CPU seconds so far of the servers behind KAFKA_BROKERS' first broker and DATABASE_URL (found by
 * their listening ports): the broker's process, and the postmaster with its children (a backend
 * that exits is counted in the postmaster's reaped children, so a difference of two readings holds
 * it either way). They include any other client's work on the same servers.
 */
export function stackCpuSeconds(): { postgres: number; kafka: number } {
  const pgPort = Number(new URL(dbBase).port || 5432);
  const kafkaPort = Number(brokers.split(',')[0].split(':').at(-1));
  const postmaster = listenerPid(pgPort);
  const broker = listenerPid(kafkaPort);
  let postgres = 0;
  if (postmaster !== undefined) {
    postgres = cpuSeconds(postmaster);
    for (const d of readdirSync('/proc')) {
      if (!/^\d+$/.test(d)) continue;
      try {
        const s = readFileSync(`/proc/${d}/stat`, 'utf8');
        if (Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[1]) === postmaster) postgres += cpuSeconds(Number(d)) || 0;
      } catch {
        // gone meanwhile
      }
    }
  }
  return { postgres: postmaster === undefined ? NaN : postgres, kafka: broker === undefined ? NaN : cpuSeconds(broker) };
}

export function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

export async function withDb<T>(fn: (url: string) => Promise<T>): Promise<T> {
  const name = `bench_${randomBytes(4).toString('hex')}`;
  const admin = await MikroORM.init({ clientUrl: dbBase.replace(/\/[^/?]+$/, '/postgres'), entities: [], discovery: { warnWhenNoEntities: false } });
  await admin.em.fork().execute(`create database ${name}`);
  try {
    return await fn(dbBase.replace(/\/[^/?]+$/, `/${name}`));
  } finally {
    await admin.em.fork().execute(`drop database if exists ${name} with (force)`);
    await admin.close();
  }
}

export interface Stack {
  readonly env: NodeJS.ProcessEnv;
  readonly prefix: string;
  readonly ledgerUrl: string;
  readonly token: string;
  readonly projectId: string;
  readonly children: ChildProcess[];
  spawnApp(main: string, env: Record<string, string>): ChildProcess;
  stop(): Promise<void>;
}

export async function waitReady(url: string, timeoutMs = 60000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while ((await fetch(`${url}/ready`).then((r) => r.status).catch(() => 0)) !== 200) {
    if (Date.now() > until) throw new Error(`${url} not ready within ${timeoutMs} ms`);
    await sleep(100);
  }
}

export async function api(base: string, token: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: any; ms: number }> {
  const t0 = performance.now();
  const r = await fetch(base + path, { method, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
  const text = await r.text();
  const ms = performance.now() - t0;
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    /* text */
  }
  return { status: r.status, body: parsed, ms };
}

/** The ledger (identity, projects, read model) as a process, an admin token and a project whose scope allows loopback. */
export async function startStack(databaseUrl: string): Promise<Stack> {
  const prefix = `bench${randomBytes(3).toString('hex')}.`;
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env, KAFKA_BROKERS: brokers, DATABASE_URL: databaseUrl, KAFKA_TOPIC_PREFIX: prefix, LOG_LEVEL: 'warn' };
  const children: ChildProcess[] = [];
  const spawnApp = (main: string, extra: Record<string, string>) => {
    const c = spawn(process.execPath, ['--disable-warning=TimeoutNegativeWarning', join(root, main)], { env: { ...env, ...extra }, stdio: ['ignore', 'ignore', 'inherit'] });
    children.push(c);
    return c;
  };
  spawnApp('dist/apps/ledger-projector/src/main.js', { LEDGER_PORT: String(port) });
  const ledgerUrl = `http://127.0.0.1:${port}`;
  await waitReady(ledgerUrl);
  const boot = spawnSync(process.execPath, ['--disable-warning=TimeoutNegativeWarning', join(root, 'dist/apps/ledger-projector/src/admin.js'), 'bootstrap'], { env, encoding: 'utf8' });
  const token = /shown once\): (\S+)/.exec(boot.stdout)?.[1];
  if (!token) throw new Error(`bootstrap failed: ${boot.stderr}`);
  let projectId = '';
  for (let i = 0; i < 100 && !projectId; i++) {
    const r = await api(ledgerUrl, token, 'POST', '/projects', { name: 'bench' });
    if (r.status === 201) projectId = r.body.id;
    else await sleep(100);
  }
  if (!projectId) throw new Error('could not create the bench project');
  const scope = await api(ledgerUrl, token, 'PUT', `/projects/${projectId}/scope`, { allow: ['127.0.0.0/8'], deny: [] });
  if (scope.status !== 200) throw new Error(`scope: ${JSON.stringify(scope.body)}`);
  return {
    env,
    prefix,
    ledgerUrl,
    token,
    projectId,
    children,
    spawnApp,
    async stop() {
      for (const c of children.reverse()) {
        if (c.exitCode !== null || c.signalCode !== null) continue;
        const exited = new Promise((r) => c.once('exit', r));
        c.kill('SIGTERM');
        await Promise.race([exited, sleep(10000).then(() => c.kill('SIGKILL'))]);
      }
    },
  };
}

/** Starts the tasker and waits until it answers and sees the project (its access view caught up). */
export async function startTasker(stack: Stack, extra: Record<string, string> = {}): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = stack.spawnApp('dist/apps/tasker/src/main.js', { TASKER_PORT: String(port), ...extra });
  const url = `http://127.0.0.1:${port}`;
  await waitReady(url);
  for (let i = 0; i < 200; i++) {
    if ((await api(url, stack.token, 'GET', `/projects/${stack.projectId}/scans`)).status === 200) return { url, child };
    await sleep(100);
  }
  throw new Error('tasker never saw the bench project');
}
