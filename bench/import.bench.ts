// npm run bench:import [-- hosts ...]: end-to-end import throughput (upload → queryable in the
// read model) and the peak RSS of every Node process involved, on the local stack.
// The ledger runs as its own process with its own topics and database, so its memory is its own.
import { spawn, spawnSync } from 'node:child_process';
import { createReadStream, createWriteStream, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { MikroORM } from '@mikro-orm/postgresql';
import { generateReport } from './gen-report.js';

const brokers = process.env.KAFKA_BROKERS ?? '127.0.0.1:19092';
const dbBase = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:15432/falcoria';
const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0);
const root = new URL('../..', import.meta.url).pathname;
// The ledger runs as scripts/start.sh runs it (README, "Memory of the ledger"); LEDGER_NODE_FLAGS
// and the MALLOC_ variables override, for experiments.
const ledgerNodeFlags = (process.env.LEDGER_NODE_FLAGS ?? '--max-semi-space-size=16 --heap-growing-percent=50 --initial-old-space-size=64 --expose-gc').split(' ').filter(Boolean);
const ledgerMallocEnv = { MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '131072' };

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

const peakRssMb = (pid: number) => {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
};

async function withDb<T>(fn: (url: string) => Promise<T>): Promise<T> {
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

async function run(hosts: number) {
  const dir = mkdtempSync(join(tmpdir(), 'falcoria-bench-'));
  const file = join(dir, `report-${hosts}.xml`);
  const out = createWriteStream(file);
  for await (const c of generateReport(hosts)) if (!out.write(c)) await once(out, 'drain');
  out.end();
  await once(out, 'finish');
  const bytes = statSync(file).size;
  try {
    return await withDb(async (databaseUrl) => {
      const prefix = `bench${randomBytes(3).toString('hex')}.`;
      const port = await freePort();
      const env = { ...ledgerMallocEnv, ...process.env, KAFKA_BROKERS: brokers, DATABASE_URL: databaseUrl, KAFKA_TOPIC_PREFIX: prefix, LEDGER_PORT: String(port), LOG_LEVEL: 'warn', LEDGER_SPOOL_DIR: dir };
      const ledger = spawn(process.execPath, ['--disable-warning=TimeoutNegativeWarning', ...(process.env.LEDGER_HEAP_MB ? [`--max-old-space-size=${process.env.LEDGER_HEAP_MB}`] : []), ...ledgerNodeFlags, join(root, 'dist/apps/ledger-projector/src/main.js')], { env, stdio: ['ignore', 'ignore', 'inherit'] });
      try {
        const base = `http://127.0.0.1:${port}`;
        for (let i = 0; i < 600; i++) {
          if ((await fetch(`${base}/ready`).then((r) => r.status).catch(() => 0)) === 200) break;
          await new Promise((r) => setTimeout(r, 100));
        }
        const boot = spawnSync(process.execPath, ['--disable-warning=TimeoutNegativeWarning', join(root, 'dist/apps/ledger-projector/src/admin.js'), 'bootstrap'], { env, encoding: 'utf8' });
        const token = /shown once\): (\S+)/.exec(boot.stdout)?.[1];
        if (!token) throw new Error(`bootstrap failed: ${boot.stderr}`);
        const auth = { authorization: `Bearer ${token}` };
        let projectId = '';
        for (let i = 0; i < 50 && !projectId; i++) {
          const r = await fetch(`${base}/projects`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'bench' }) });
          if (r.status === 201) projectId = ((await r.json()) as { id: string }).id;
          else await new Promise((res) => setTimeout(res, 100));
        }
        const boundary = `----falcoria${randomBytes(8).toString('hex')}`;
        const body = ReadableStream.from(
          (async function* () {
            yield Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="bench.xml"\r\nContent-Type: application/xml\r\n\r\n`);
            for await (const c of createReadStream(file, { highWaterMark: 1 << 20 })) yield c as Buffer;
            yield Buffer.from(`\r\n--${boundary}--\r\n`);
          })(),
        );
        const t0 = performance.now();
        const up = await fetch(`${base}/projects/${projectId}/imports?mode=replace`, {
          method: 'POST',
          headers: { ...auth, 'content-type': `multipart/form-data; boundary=${boundary}` },
          body,
          duplex: 'half',
          // Following a redirect means keeping a copy of the body (fetch tees it), and the copy is
          // never read: with the default 'follow' the client held the whole report.
          redirect: 'error',
        } as RequestInit);
        const accepted = (await up.json()) as { importId: string; status: string };
        const tUpload = performance.now();
        const ledgerUploadPeak = peakRssMb(ledger.pid!);
        let status = accepted.status;
        let counts: unknown;
        while (status === 'applying') {
          await new Promise((r) => setTimeout(r, 200));
          const s = (await (await fetch(`${base}/projects/${projectId}/imports/${accepted.importId}`, { headers: auth })).json()) as { status: string; counts: unknown };
          status = s.status;
          counts = s.counts;
        }
        const t1 = performance.now();
        const seconds = (t1 - t0) / 1000;
        return {
          hosts, mib: +(bytes / 2 ** 20).toFixed(1), status, seconds: +seconds.toFixed(1), uploadAndPublishSeconds: +((tUpload - t0) / 1000).toFixed(1),
          hostsPerSecond: Math.round(hosts / seconds), ledgerPeakRssMb: +peakRssMb(ledger.pid!).toFixed(0), ledgerPeakRssDuringUploadMb: +ledgerUploadPeak.toFixed(0), clientPeakRssMb: +(process.resourceUsage().maxRSS / 1024).toFixed(0), counts,
        };
      } finally {
        ledger.kill('SIGTERM');
        await once(ledger, 'exit');
      }
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const results = [];
for (const n of sizes.length ? sizes : [50000, 200000]) {
  const r = await run(n);
  results.push(r);
  console.log(JSON.stringify(r));
}
console.log('\n| hosts | report | end-to-end | hosts/s | upload+publish | ledger peak RSS | client peak RSS |\n|---:|---:|---:|---:|---:|---:|---:|');
for (const r of results) console.log(`| ${r.hosts} | ${r.mib} MiB | ${r.seconds} s | ${r.hostsPerSecond} | ${r.uploadAndPublishSeconds} s | ${r.ledgerPeakRssMb} MB | ${r.clientPeakRssMb} MB |`);
