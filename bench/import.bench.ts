// npm run bench:import [-- hosts ...]: end-to-end import throughput (upload → queryable in the
// read model), the peak RSS of every Node process involved, and the CPU seconds the import cost each
// process (ledger, PostgreSQL, Kafka, this client), on the local stack. On 2 cores the CPU total,
// not the wall clock, says how far a throughput bar is: the processes cannot use more than 2 s per s.
// The ledger runs as its own process with its own topics and database, so its memory is its own.
import { spawn, spawnSync } from 'node:child_process';
import { createReadStream, createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { generateReport } from './gen-report.js';
import { brokers, cpuSeconds, freePort, root, rssMb, stackCpuSeconds, withDb } from './scan-harness.js';

const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0);
// The ledger runs as scripts/start.sh runs it (README, "Memory of the ledger"); LEDGER_NODE_FLAGS
// and the MALLOC_ variables override, for experiments.
const ledgerNodeFlags = (process.env.LEDGER_NODE_FLAGS ?? '--max-semi-space-size=16 --heap-growing-percent=50 --initial-old-space-size=64 --expose-gc').split(' ').filter(Boolean);
const ledgerMallocEnv = { MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '131072' };

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
          // The keep-alive connection of the readiness polls may have expired during the bootstrap:
          // such a request never reached the ledger, so sending it again creates one project.
          const r = await fetch(`${base}/projects`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'bench' }) }).catch(() => null);
          if (r?.status === 201) projectId = ((await r.json()) as { id: string }).id;
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
        const cpu0 = { ledger: cpuSeconds(ledger.pid!), ...stackCpuSeconds(), client: process.cpuUsage() };
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
        const ledgerUploadPeak = rssMb(ledger.pid!).peak;
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
        const stack1 = stackCpuSeconds();
        const clientCpu = process.cpuUsage(cpu0.client);
        const cpu = {
          ledger: cpuSeconds(ledger.pid!) - cpu0.ledger,
          postgres: stack1.postgres - cpu0.postgres,
          kafka: stack1.kafka - cpu0.kafka,
          client: (clientCpu.user + clientCpu.system) / 1e6,
        };
        const cpuTotal = cpu.ledger + cpu.postgres + cpu.kafka + cpu.client;
        return {
          hosts, mib: +(bytes / 2 ** 20).toFixed(1), status, seconds: +seconds.toFixed(1), uploadAndPublishSeconds: +((tUpload - t0) / 1000).toFixed(1),
          hostsPerSecond: Math.round(hosts / seconds), ledgerPeakRssMb: +rssMb(ledger.pid!).peak.toFixed(0), ledgerPeakRssDuringUploadMb: +ledgerUploadPeak.toFixed(0), clientPeakRssMb: +(process.resourceUsage().maxRSS / 1024).toFixed(0),
          cpuSeconds: Object.fromEntries(Object.entries({ ...cpu, total: cpuTotal }).map(([k, v]) => [k, +v.toFixed(1)])),
          hostsPerCpuSecond: Math.round(hosts / cpuTotal), counts,
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
console.log('\n| hosts | report | end-to-end | hosts/s | upload+publish | ledger peak RSS | client peak RSS | CPU s: ledger / PostgreSQL / Kafka / client = total | hosts per CPU-second |\n|---:|---:|---:|---:|---:|---:|---:|---|---:|');
for (const r of results) {
  const c = r.cpuSeconds;
  console.log(`| ${r.hosts} | ${r.mib} MiB | ${r.seconds} s | ${r.hostsPerSecond} | ${r.uploadAndPublishSeconds} s | ${r.ledgerPeakRssMb} MB | ${r.clientPeakRssMb} MB | ${c.ledger} / ${c.postgres} / ${c.kafka} / ${c.client} = ${c.total} | ${r.hostsPerCpuSecond} |`);
}
