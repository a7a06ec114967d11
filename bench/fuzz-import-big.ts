// npm run fuzz:import-big [-- --gib 2 --cases chatter,truncated,hosts]: a report of several GiB,
// generated on the fly and streamed as the upload (never written to disk or held by this process),
// into a ledger running as its own process on the local stack. Prints each outcome and the peak RSS
// (VmHWM) of the ledger process, which must stay flat whatever the report size.
//
// Cases:
//   chatter    a valid report: 2,000 hosts, then nmap's own --stats-every progress lines up to the
//              size (how real multi-gigabyte -d/-v reports look); imported, 2,000 hosts
//   truncated  the same cut off at the size (an interrupted transfer): refused, nothing imported
//   hosts      the size made only of hosts (~2.3 KB each, ~900,000 for 2 GiB): imported in full;
//              takes tens of minutes on 2 cores (the projector folds ~1,000 hosts/s), so not default
// Topics and the database are deleted afterwards.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:http';
import { MikroORM } from '@mikro-orm/postgresql';
import kafkajs from 'kafkajs';
import { hostXml } from './gen-report.js';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const GIB = Number(arg('gib', '2'));
const CASES = arg('cases', 'chatter,truncated').split(',');
const brokers = process.env.KAFKA_BROKERS ?? '127.0.0.1:19092';
const dbBase = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:15432/falcoria';
const root = new URL('../..', import.meta.url).pathname;
const MiB = 1024 * 1024;

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
const status = (pid: number, key: string) => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) / 1024;

const HEAD =
  '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE nmaprun>\n' +
  '<nmaprun scanner="nmap" args="nmap -d --stats-every 1s -sS -sV -sC -oX big.xml 10.0.0.0/8" start="1700000000" version="7.93" xmloutputversion="1.05">\n' +
  '<scaninfo type="syn" protocol="tcp" numservices="1000" services="1-1000"/>\n<verbose level="0"/>\n<debugging level="1"/>\n';
const FOOT = '<runstats><finished time="1700090000" elapsed="90000" exit="success"/><hosts up="0" down="0" total="0"/></runstats>\n</nmaprun>\n';

let hostsGenerated = 0;

/** Yields ~1 MiB chunks: `hosts` real hosts, then filler up to `total` bytes, then (unless cut) the footer. */
async function* report(total: number, opts: { hosts: number; filler: 'chatter' | 'hosts'; cut: boolean }): AsyncGenerator<Buffer> {
  let sent = 0;
  const emit = (s: string) => {
    const b = Buffer.from(s);
    sent += b.length;
    return b;
  };
  yield emit(HEAD);
  let i = 0;
  let chunk = '';
  const flush = () => {
    const b = emit(chunk);
    chunk = '';
    return b;
  };
  for (; i < opts.hosts; i++) {
    chunk += hostXml(i);
    if (chunk.length > MiB) yield flush();
  }
  const room = total - FOOT.length;
  let t = 1700000000;
  while (sent + chunk.length < room) {
    if (opts.filler === 'hosts') chunk += hostXml(i++);
    else {
      t++;
      chunk += `<taskprogress task="SYN Stealth Scan" time="${t}" percent="${((t % 10000) / 100).toFixed(2)}" remaining="${90000 - (t % 90000)}" etc="${t + 600}"/>\n`;
    }
    if (chunk.length > MiB) yield flush();
  }
  if (chunk) yield flush();
  if (!opts.cut) yield emit(FOOT);
  hostsGenerated = i;
}

async function withStack<T>(fn: (env: NodeJS.ProcessEnv) => Promise<T>): Promise<T> {
  const name = `fuzzbig_${randomBytes(4).toString('hex')}`;
  const prefix = `fuzzbig${randomBytes(3).toString('hex')}.`;
  const admin = await MikroORM.init({ clientUrl: dbBase.replace(/\/[^/?]+$/, '/postgres'), entities: [], discovery: { warnWhenNoEntities: false } });
  await admin.em.fork().execute(`create database ${name}`);
  const spool = mkdtempSync(join(tmpdir(), 'falcoria-fuzz-big-'));
  try {
    return await fn({ ...process.env, KAFKA_BROKERS: brokers, DATABASE_URL: dbBase.replace(/\/[^/?]+$/, `/${name}`), KAFKA_TOPIC_PREFIX: prefix, LOG_LEVEL: 'warn', LEDGER_SPOOL_DIR: spool });
  } finally {
    const leftovers = readdirSync(spool);
    if (leftovers.length) console.log(`spool files left behind: ${leftovers.length}`);
    rmSync(spool, { recursive: true, force: true });
    await admin.em.fork().execute(`drop database if exists ${name} with (force)`);
    await admin.close();
    const kafka = new kafkajs.Kafka({ brokers: brokers.split(','), logLevel: kafkajs.logLevel.NOTHING });
    const ka = kafka.admin();
    await ka.connect();
    const mine = (await ka.listTopics()).filter((t) => t.startsWith(prefix));
    if (mine.length) await ka.deleteTopics({ topics: mine });
    await ka.disconnect();
  }
}

async function run(kind: string) {
  return withStack(async (env) => {
    const port = await freePort();
    const ledger = spawn(process.execPath, ['--disable-warning=TimeoutNegativeWarning', join(root, 'dist/apps/ledger-projector/src/main.js')], { env: { ...env, LEDGER_PORT: String(port) }, stdio: ['ignore', 'ignore', 'inherit'] });
    let peakRss = 0;
    const sampler = setInterval(() => {
      try {
        peakRss = Math.max(peakRss, status(ledger.pid!, 'VmRSS'));
      } catch {
        /* exited */
      }
    }, 200);
    try {
      const base = `http://127.0.0.1:${port}`;
      for (let i = 0; i < 600 && (await fetch(`${base}/ready`).then((r) => r.status).catch(() => 0)) !== 200; i++) await new Promise((r) => setTimeout(r, 100));
      const boot = spawnSync(process.execPath, ['--disable-warning=TimeoutNegativeWarning', join(root, 'dist/apps/ledger-projector/src/admin.js'), 'bootstrap'], { env, encoding: 'utf8' });
      const token = /shown once\): (\S+)/.exec(boot.stdout)?.[1];
      if (!token) throw new Error(`bootstrap failed: ${boot.stderr}`);
      const auth = { authorization: `Bearer ${token}` };
      let projectId = '';
      for (let i = 0; i < 100 && !projectId; i++) {
        const r = await fetch(`${base}/projects`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'big' }) });
        if (r.status === 201) projectId = ((await r.json()) as { id: string }).id;
        else await new Promise((res) => setTimeout(res, 100));
      }
      const rssAtRest = status(ledger.pid!, 'VmRSS');
      const total = Math.round(GIB * 1024 * MiB);
      const gen = report(total, { hosts: kind === 'hosts' ? 0 : 2000, filler: kind === 'hosts' ? 'hosts' : 'chatter', cut: kind === 'truncated' });
      let uploaded = 0;
      const boundary = `----fuzzbig${randomBytes(8).toString('hex')}`;
      const t0 = performance.now();
      // node:http with write/drain, so this process holds one chunk at a time (fetch with a stream
      // body buffered the whole upload here: 2.2 GB of client RSS for a 2 GiB report).
      const res = await new Promise<{ status: number; json: () => Promise<unknown> }>((resolve, reject) => {
        const req = request(
          `${base}/projects/${projectId}/imports?mode=replace${kind === 'hosts' ? '' : '&wait=true'}`,
          { method: 'POST', headers: { ...auth, 'content-type': `multipart/form-data; boundary=${boundary}` } },
          (r) => {
            const parts: Buffer[] = [];
            r.on('data', (c: Buffer) => parts.push(c));
            r.on('end', () => resolve({ status: r.statusCode!, json: async () => JSON.parse(Buffer.concat(parts).toString('utf8')) }));
          },
        );
        req.on('error', reject);
        const write = (c: Buffer) => new Promise<void>((r) => (req.write(c) ? r() : req.once('drain', r)));
        (async () => {
          await write(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big-${kind}.xml"\r\nContent-Type: application/xml\r\n\r\n`));
          for await (const c of gen) {
            uploaded += c.length;
            await write(c);
          }
          await write(Buffer.from(`\r\n--${boundary}--\r\n`));
          req.end();
        })().catch(reject);
      });
      const answer = (await res.json()) as Record<string, any>;
      const answeredAfter = (performance.now() - t0) / 1000;
      let final = answer;
      if (kind === 'hosts' && res.status === 202) {
        while (final.status === 'applying') {
          await new Promise((r) => setTimeout(r, 5000));
          final = (await (await fetch(`${base}/projects/${projectId}/imports/${answer.importId}`, { headers: auth })).json()) as Record<string, any>;
        }
      }
      const imports = ((await (await fetch(`${base}/projects/${projectId}/imports`, { headers: auth })).json()) as { items: unknown[] }).items.length;
      const hosts = ((await (await fetch(`${base}/projects/${projectId}/hosts?limit=1000`, { headers: auth })).json()) as { items: unknown[] }).items.length;
      const ready = (await fetch(`${base}/ready`)).status;
      return {
        case: kind,
        reportMiB: Math.round(uploaded / MiB),
        hostsInReport: hostsGenerated,
        status: res.status,
        outcome: final.status ?? final.code,
        message: final.message,
        hostCount: final.hostCount,
        answeredAfterSeconds: +answeredAfter.toFixed(1),
        totalSeconds: +((performance.now() - t0) / 1000).toFixed(1),
        importsRecorded: imports,
        hostsVisible: hosts >= 1000 ? '1000+' : hosts,
        ledgerRssAtRestMiB: Math.round(rssAtRest),
        ledgerPeakRssMiB: Math.round(Math.max(peakRss, status(ledger.pid!, 'VmHWM'))),
        clientPeakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
        ledgerReadyAfter: ready,
      };
    } finally {
      clearInterval(sampler);
      ledger.kill('SIGTERM');
      await once(ledger, 'exit');
    }
  });
}

const results = [];
for (const c of CASES) {
  const r = await run(c);
  results.push(r);
  console.log(JSON.stringify(r));
}
console.log('\n| case | report | HTTP | outcome | answered after | imports recorded | ledger RSS at rest | ledger peak RSS |\n|---|---:|---:|---|---:|---:|---:|---:|');
for (const r of results) {
  console.log(`| ${r.case} | ${r.reportMiB} MiB | ${r.status} | ${r.outcome}${r.hostCount ? ` (${r.hostCount} hosts)` : ''} | ${r.answeredAfterSeconds} s | ${r.importsRecorded} | ${r.ledgerRssAtRestMiB} MiB | ${r.ledgerPeakRssMiB} MiB |`);
}
const bad = results.filter((r) => r.ledgerReadyAfter !== 200 || r.status >= 500 || (r.case === 'truncated' && (r.status !== 422 || r.importsRecorded !== 0)) || (r.case !== 'truncated' && r.outcome !== 'completed'));
if (bad.length) {
  console.error(`unexpected outcome: ${bad.map((r) => r.case).join(', ')}`);
  process.exitCode = 1;
}
