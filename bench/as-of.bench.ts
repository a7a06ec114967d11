// npm run bench:asof [-- --hosts 100000 --rounds 9 --samples 200]: time travel on a big project.
// Builds a project of `hosts` hosts from ~1M events (rounds of replace imports of every host, then two
// imports of half the hosts), folded by the ledger's own projection code straight into PostgreSQL
// (no Kafka in the build: the events are the same objects the consumer would hand it). Then, over
// HTTP against a real ledger process: a page of 100 hosts as of random moments and import ids
// (p50/p99), the same page now, and the diff between the two half-size imports.
// `--keep FILE` keeps the built project and writes how to find it to FILE; `--reuse FILE` measures
// it again without building (same stack), e.g. on a quieter machine.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { readFileSync, writeFileSync } from 'node:fs';
import { MikroORM } from '@mikro-orm/postgresql';
import type { Envelope, HostObservedV1, ImportCompletedV1, ImportStartedV1, NmapPort } from '#events';
import { ProjectionRunner, type ConsumedEvent } from '#platform';
import { ledgerProjection } from '../apps/ledger-projector/src/projection/ledger.projection.js';

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const HOSTS = arg('hosts', 100_000);
const ROUNDS = arg('rounds', 9);
const SAMPLES = arg('samples', 200);
const brokers = process.env.KAFKA_BROKERS ?? '127.0.0.1:19092';
const dbBase = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:15432/falcoria';
const root = new URL('../..', import.meta.url).pathname;
const actor = { kind: 'user' as const, id: 'bench' };
const T0 = Date.parse('2026-10-01T00:00:00Z');

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

const ipOf = (i: number) => {
  const n = 0x0a000001 + i;
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
};

/** Host i as round r sees it: ssh always, http whose version moves, 8080 open on some rounds only. */
function ports(i: number, r: number): NmapPort[] {
  const p: NmapPort[] = [
    { protocol: 'tcp', port: 22, state: { state: 'open', reason: 'syn-ack' }, service: { name: 'ssh', product: 'OpenSSH', version: `9.${(i + r) % 3}`, cpes: [] }, scripts: [] },
    { protocol: 'tcp', port: 80, state: { state: 'open', reason: 'syn-ack' }, service: { name: 'http', product: 'nginx', version: `1.${18 + ((i + r) % 5 === 0 ? r : 0)}`, cpes: [] }, scripts: [] },
  ];
  if ((i + r) % 7 === 0) p.push({ protocol: 'tcp', port: 8080, state: { state: 'open', reason: 'syn-ack' }, service: { name: 'http-proxy', cpes: [] }, scripts: [] });
  return p;
}

const peakRssMb = (pid: number) => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) / 1024;
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];

interface Kept {
  dbName: string;
  prefix: string;
  token: string;
  projectId: string;
  imports: { id: string; from: number; to: number }[];
  buildSeconds: number;
}
const fileArg = (name: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
};

async function main() {
  const keepFile = fileArg('keep');
  const reused = fileArg('reuse') ? (JSON.parse(readFileSync(fileArg('reuse')!, 'utf8')) as Kept) : null;
  const dbName = reused?.dbName ?? `bench_asof_${randomBytes(4).toString('hex')}`;
  const admin = await MikroORM.init({ clientUrl: dbBase.replace(/\/[^/?]+$/, '/postgres'), entities: [], discovery: { warnWhenNoEntities: false } });
  if (!reused) await admin.em.fork().execute(`create database ${dbName}`);
  const databaseUrl = dbBase.replace(/\/[^/?]+$/, `/${dbName}`);
  const prefix = reused?.prefix ?? `bench${randomBytes(3).toString('hex')}.`;
  const port = await freePort();
  const env = { ...process.env, KAFKA_BROKERS: brokers, DATABASE_URL: databaseUrl, KAFKA_TOPIC_PREFIX: prefix, LEDGER_PORT: String(port), LOG_LEVEL: 'warn' };
  const ledger = spawn(process.execPath, ['--disable-warning=TimeoutNegativeWarning', join(root, 'dist/apps/ledger-projector/src/main.js')], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  const orm = await MikroORM.init({ clientUrl: databaseUrl, entities: [], discovery: { warnWhenNoEntities: false } });
  try {
    const base = `http://127.0.0.1:${port}`;
    for (let i = 0; i < 600; i++) {
      if ((await fetch(`${base}/ready`).then((r) => r.status).catch(() => 0)) === 200) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const boot = reused ? null : spawnSync(process.execPath, ['--disable-warning=TimeoutNegativeWarning', join(root, 'dist/apps/ledger-projector/src/admin.js'), 'bootstrap'], { env, encoding: 'utf8' });
    const token = reused?.token ?? /shown once\): (\S+)/.exec(boot!.stdout)?.[1];
    if (!token) throw new Error(`bootstrap failed: ${boot?.stderr}`);
    const auth = { authorization: `Bearer ${token}` };
    let projectId = reused?.projectId ?? '';
    for (let i = 0; i < 50 && !projectId; i++) {
      const r = await fetch(`${base}/projects`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'asof-bench' }) });
      if (r.status === 201) projectId = ((await r.json()) as { id: string }).id;
      else await new Promise((res) => setTimeout(res, 100));
    }

    // --- build: the projection's own apply, batch by batch, checkpoint and all ---------------------
    const runner = new ProjectionRunner(orm, ledgerProjection);
    const topic = `${prefix}synthetic.falcoria.ledger`;
    let offset = 0;
    let pending: ConsumedEvent[] = [];
    const flush = async () => {
      if (pending.length) await runner.handle(pending, { topic, partition: 0, heartbeat: async () => {} });
      pending = [];
    };
    const push = async (e: Envelope) => {
      pending.push({ topic, partition: 0, offset: String(offset++), event: e });
      if (pending.length >= 1000) await flush();
    };
    const envelope = <T extends string, P>(type: T, payload: P, at: number): Envelope<T, P> => ({
      eventId: randomUUID(), type, schemaVersion: 1, key: projectId, occurredAt: new Date(at).toISOString(), correlationId: randomUUID(), causationId: null, actor, payload,
    });
    const plan = [...Array.from({ length: ROUNDS }, () => HOSTS), Math.floor(HOSTS / 2), Math.floor(HOSTS / 2)];
    const imports: { id: string; from: number; to: number }[] = reused?.imports ?? [];
    const t0 = performance.now();
    let events = 0;
    for (let r = 0; r < (reused ? 0 : plan.length); r++) {
      const importId = randomUUID();
      const start = T0 + r * 86_400_000;
      const source = { kind: 'import' as const, importId, fileSha256: randomBytes(32).toString('hex'), fileName: `round-${r}.xml` };
      const run = { scanner: 'nmap', version: '7.95', args: 'nmap -sS -sV -p1-1000' };
      await push(envelope('ImportStarted', { projectId, importId, mode: 'replace', trackHistory: true, fileName: source.fileName, fileSha256: source.fileSha256, force: false } satisfies ImportStartedV1, start));
      // The two half-size imports see different halves' neighbours: odd rounds start at the middle.
      const first = r === plan.length - 1 ? Math.floor(HOSTS / 4) : 0;
      for (let k = 0; k < plan[r]; k++) {
        const i = first + k;
        const at = start + k * 10;
        const payload: HostObservedV1 = {
          projectId, mode: 'replace', trackHistory: true, source, run, coverage: { tcp: [[1, 1000]] }, observedAt: new Date(at).toISOString(),
          host: { ip: ipOf(i), addresses: [{ addr: ipOf(i), addrtype: 'ipv4' }], hostnames: [], status: { state: 'up', reason: 'syn-ack' }, ports: ports(i, r), extraPorts: [], hostScripts: [] },
        };
        await push(envelope('HostObserved', payload, at));
        events++;
        if (events % 50_000 === 0) console.error(`built ${events} host events (${Math.round(events / ((performance.now() - t0) / 1000))}/s)`);
      }
      const end = start + plan[r] * 10 + 1;
      await push(envelope('ImportCompleted', { projectId, importId, hostCount: plan[r], run: { scanner: 'nmap', version: '7.95', args: run.args, start: start / 1000 } } as ImportCompletedV1, end));
      imports.push({ id: importId, from: start, to: end });
    }
    await flush();
    const buildSeconds = reused?.buildSeconds ?? (performance.now() - t0) / 1000;
    if (keepFile) writeFileSync(keepFile, JSON.stringify({ dbName, prefix, token, projectId, imports, buildSeconds } satisfies Kept));

    // --- measure over HTTP ----------------------------------------------------------------------
    const get = async (path: string) => {
      const s = performance.now();
      const r = await fetch(base + path, { headers: auth });
      const body = await r.text();
      if (r.status !== 200) throw new Error(`${path}: ${r.status} ${body.slice(0, 200)}`);
      return { ms: performance.now() - s, body };
    };
    const pageOf = (asOf?: string) => {
      const cursor = ipOf(Math.floor(Math.random() * (HOSTS - 200)));
      return get(`/projects/${projectId}/hosts?limit=100&cursor=${cursor}${asOf ? `&asOf=${encodeURIComponent(asOf)}` : ''}`);
    };
    for (let i = 0; i < 5; i++) await pageOf(new Date(T0 + 86_400_000).toISOString()); // warm up
    const now: number[] = [];
    const past: number[] = [];
    const byImport: number[] = [];
    // Any moment after the first full round, when every host exists (earlier pages may rightly be empty).
    const from = imports[0].to;
    const span = imports[imports.length - 1].to - from;
    let empty = 0;
    for (let i = 0; i < SAMPLES; i++) {
      now.push((await pageOf()).ms);
      const page = await pageOf(new Date(from + Math.random() * span).toISOString());
      if (!page.body.includes('"ip"')) empty++;
      past.push(page.ms);
      byImport.push((await pageOf(imports[Math.floor(Math.random() * imports.length)].id)).ms);
    }
    const a = imports[imports.length - 2];
    const b = imports[imports.length - 1];
    const diffs: number[] = [];
    let diffBody = '';
    for (let i = 0; i < 5; i++) {
      const d = await get(`/projects/${projectId}/diff?from=${a.id}&to=${b.id}`);
      diffs.push(d.ms);
      diffBody = d.body;
    }
    const diff = JSON.parse(diffBody) as Record<string, unknown[]>;
    const counts = await orm.em.fork().execute<{ hosts: string; events: string; history: string }[]>(
      `select (select count(*) from ledger.hosts) as hosts, (select count(*) from ledger.host_events) as events, (select count(*) from ledger.history) as history`,
    );
    const result = {
      hosts: Number(counts[0].hosts), hostEvents: Number(counts[0].events), historyRows: Number(counts[0].history), buildSeconds: +buildSeconds.toFixed(0),
      pageNowMs: { p50: +pct(now, 50).toFixed(1), p99: +pct(now, 99).toFixed(1) },
      pageAsOfTimeMs: { p50: +pct(past, 50).toFixed(1), p99: +pct(past, 99).toFixed(1) },
      pageAsOfImportMs: { p50: +pct(byImport, 50).toFixed(1), p99: +pct(byImport, 99).toFixed(1) },
      diffTwoHalfImportsMs: { best: +Math.min(...diffs).toFixed(0), worst: +Math.max(...diffs).toFixed(0) },
      diffSize: Object.fromEntries(Object.entries(diff).filter(([, v]) => Array.isArray(v)).map(([k, v]) => [k, v.length])),
      ledgerPeakRssMb: +peakRssMb(ledger.pid!).toFixed(0),
      samples: SAMPLES,
      emptyAsOfPages: empty,
    };
    console.log(JSON.stringify(result, null, 2));
  } finally {
    ledger.kill('SIGTERM');
    await once(ledger, 'exit');
    await orm.close();
    if (!keepFile) await admin.em.fork().execute(`drop database if exists ${dbName} with (force)`);
    await admin.close();
  }
}

await main();
