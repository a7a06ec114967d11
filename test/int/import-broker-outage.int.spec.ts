import { spawn } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { falcli, tempDir } from '../support/cli.js';
import { call, startLedgerApp, upload, type RunningApp } from '../support/ledger-app.js';
import { nmapReport } from '../support/nmap-fixtures.js';
import type { Kafka } from 'kafkajs';
import { createKafka } from '#platform';
import { eventually, kafkaEnv } from '../support/stack.js';

// Regression test for a fault-suite finding (npm run chaos -- --scenario broker-import): the broker
// went away while an import was being published, the upload failed, and the import read "applying"
// for ever, because ImportStarted was in the log and ImportCompleted never would be; the hosts
// published before the outage stayed applied. An import is now one Kafka transaction. The broker
// here is a single one of this file's own (scripts/stack.sh, own folder and ports; PostgreSQL is the
// test stack's), so stopping it disturbs nobody.
const dir = join(process.cwd(), '.stack-import-outage-test');
const KAFKA_PORT = 29292;
const stackEnv = { FALCORIA_STACK_DIR: dir, KAFKA_PORT: String(KAFKA_PORT), KAFKA_CONTROLLER_PORT: String(KAFKA_PORT + 1), FALCORIA_EXTERNAL_PG: '1' };

function stack(...args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['scripts/stack.sh', ...args], {
      env: { ...process.env, KAFKA_BROKERS: undefined, FALCORIA_KAFKA_BROKERS_COUNT: undefined, ...stackEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('close', (code) => resolve({ code, out }));
  });
}

async function ok(...args: string[]): Promise<void> {
  const r = await stack(...args);
  if (r.code !== 0) throw new Error(`stack.sh ${args.join(' ')} failed:\n${r.out}`);
}

/** SIGKILL, as a crash: the broker is gone at once, mid-publish. */
async function killBroker(): Promise<void> {
  const pid = Number(readFileSync(join(dir, 'run', 'kafka.pid'), 'utf8'));
  process.kill(pid, 'SIGKILL');
  for (let i = 0; i < 100; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('an import interrupted by a broker outage', () => {
  const saved = { brokers: process.env.KAFKA_BROKERS, batch: process.env.LEDGER_PUBLISH_BATCH };
  let ledger: RunningApp;
  let projectId: string;
  let kafka: Kafka;

  beforeAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await ok('start');
    process.env.KAFKA_BROKERS = `127.0.0.1:${KAFKA_PORT}`;
    // One host per send: publishing takes seconds, so the broker surely dies part-way through it.
    process.env.LEDGER_PUBLISH_BATCH = '1';
    ledger = await startLedgerApp();
    kafka = createKafka(kafkaEnv(ledger.prefix), 'import-outage-test');
    const p = await call(ledger.url, 'POST', '/projects', ledger.adminToken, { name: 'outage' });
    expect(p.status).toBe(201);
    projectId = p.body.id;
  }, 300_000);

  afterAll(async () => {
    await ledger?.close().catch(() => undefined);
    await stack('stop');
    rmSync(dir, { recursive: true, force: true });
    process.env.KAFKA_BROKERS = saved.brokers;
    if (saved.batch === undefined) delete process.env.LEDGER_PUBLISH_BATCH;
    else process.env.LEDGER_PUBLISH_BATCH = saved.batch;
  }, 120_000);

  it('answers 503, applies nothing of the import and records it "failed" once the broker is back; the same file sent again is applied in full', async () => {
    const hosts = Array.from({ length: 6000 }, (_, i) => ({ ip: `10.44.${i >> 8}.${i & 255}`, ports: [{ port: 22, service: 'ssh' }] }));
    const xml = nmapReport(hosts, { services: '1-1000' });
    const list = () => call(ledger.url, 'GET', `/projects/${projectId}/imports`, ledger.adminToken);
    const hostCount = async () => {
      let n = 0;
      let cursor: string | null = null;
      do {
        const page = await call(ledger.url, 'GET', `/projects/${projectId}/hosts?limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, ledger.adminToken);
        n += page.body.items.length;
        cursor = page.body.nextCursor;
      } while (cursor);
      return n;
    };
    // A reader that sees records of open transactions: it tells when the import is part-way out.
    const watcher = kafka.consumer({ groupId: `${ledger.prefix}outage-watcher`, readUncommitted: true });
    let observed = 0;
    await watcher.connect();
    await watcher.subscribe({ topic: `${ledger.prefix}falcoria.ledger`, fromBeginning: true });
    await watcher.run({ eachMessage: async ({ message }) => void (message.headers?.['event-type']?.toString() === 'HostObserved' && observed++) });

    const answer = upload(ledger.url, projectId, ledger.adminToken, xml, { mode: 'update' });
    await eventually(async () => observed, (n) => n >= 500, 60000);
    await watcher.disconnect();
    // Hosts are in the log, in a transaction not committed yet: no consumer of the ledger sees them.
    expect((await list()).body.items).toEqual([]);
    await killBroker();
    const r = await answer;
    expect(r.status).toBe(503);
    expect(r.body).toMatchObject({ status: 'failed' });
    const importId = r.body.importId as string;
    expect(importId).toMatch(/^[0-9a-f-]{36}$/);
    expect(r.text).not.toMatch(/stack|at \//);

    await ok('start');
    const failed = await eventually(() => call(ledger.url, 'GET', `/projects/${projectId}/imports/${importId}`, ledger.adminToken), (s) => s.body.status === 'failed', 180000);
    expect(failed.body.reason).toMatch(/^publishing was interrupted/);
    // Nothing half-applied: the hosts published before the outage were aborted with their transaction.
    expect(failed.body.counts).toMatchObject({ hostsCreated: 0, hostsUpdated: 0, hostsUnchanged: 0 });
    expect(await hostCount()).toBe(0);

    // Not a duplicate of the failed import: applied again, and every host is there.
    const again = await upload(ledger.url, projectId, ledger.adminToken, xml, { mode: 'update' });
    expect(again.body).toMatchObject({ status: 'completed', hostCount: 6000 });
    const counts = again.body.counts;
    expect(counts.hostsCreated).toBe(6000);
    expect(await hostCount()).toBe(6000);
    const items = (await list()).body.items.map((i: { importId: string; status: string }) => [i.importId, i.status]);
    expect(items).toContainEqual([importId, 'failed']);
    expect(items.filter(([, s]: [string, string]) => s === 'applying')).toEqual([]);
  }, 600_000);

  it('falcli sends the file again by itself once the ledger answers that nothing was applied, and the import completes when the broker is back', async () => {
    const p = await call(ledger.url, 'POST', '/projects', ledger.adminToken, { name: 'outage-cli' });
    expect(p.status).toBe(201);
    const project = p.body.id as string;
    // Fewer hosts than above: published one per send, 1,500 still outlast the 500 seen before the kill.
    const hosts = Array.from({ length: 1500 }, (_, i) => ({ ip: `10.45.${i >> 8}.${i & 255}`, ports: [{ port: 22, service: 'ssh' }] }));
    const file = join(tempDir(), 'outage.xml');
    writeFileSync(file, nmapReport(hosts, { services: '1-1000' }));
    // Events are keyed by project: this counts the new import's hosts only, before its commit.
    const watcher = kafka.consumer({ groupId: `${ledger.prefix}outage-cli-watcher`, readUncommitted: true });
    let observed = 0;
    await watcher.connect();
    await watcher.subscribe({ topic: `${ledger.prefix}falcoria.ledger`, fromBeginning: true });
    await watcher.run({ eachMessage: async ({ message }) => void (message.key?.toString() === project && message.headers?.['event-type']?.toString() === 'HostObserved' && observed++) });

    let stderr = '';
    let resending!: () => void;
    const warned = new Promise<void>((r) => (resending = r));
    const run = falcli(['project', 'ips', 'import', file, '--mode', 'update', '-p', project, '--json'], {
      configDir: tempDir(),
      env: { FALCLI_LEDGER_URL: ledger.url, FALCLI_TOKEN: ledger.adminToken },
      onStderr: (c) => {
        stderr += c;
        if (/sending the file again/.test(stderr)) resending();
      },
    });
    await eventually(async () => observed, (n) => n >= 500, 60000);
    await watcher.disconnect();
    await killBroker();
    // falcli has the 503 and waits to send again; the broker comes back meanwhile.
    await Promise.race([warned, run.then((r) => Promise.reject(new Error(`falcli ended without sending again (${r.code}): ${r.stderr}`)))]);
    await ok('start');
    const r = await run;
    expect({ code: r.code, stderr: r.stderr }).toMatchObject({ code: 0 });
    expect(stderr).toMatch(/the ledger applied nothing of this import \(a Kafka broker went away while it was published\); sending the file again in 2 s \(1 of 3\)/);
    const job = JSON.parse(r.stdout);
    expect(job).toMatchObject({ status: 'completed', hostCount: 1500, counts: { hostsCreated: 1500 } });
    const items = (await call(ledger.url, 'GET', `/projects/${project}/imports`, ledger.adminToken)).body.items as { importId: string; status: string }[];
    // The interrupted attempt reads failed (once recorded), the resent one completed, nothing is left applying.
    expect(items.find((i) => i.importId === job.importId)?.status).toBe('completed');
    const failed = await eventually(
      async () => (await call(ledger.url, 'GET', `/projects/${project}/imports`, ledger.adminToken)).body.items.filter((i: { status: string }) => i.status === 'failed').length,
      (n) => n >= 1,
      180000,
    );
    expect(failed).toBeGreaterThanOrEqual(1);
    expect(items.filter((i) => i.status === 'applying')).toEqual([]);
  }, 600_000);
});
