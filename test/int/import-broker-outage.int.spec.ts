import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { call, startLedgerApp, upload, type RunningApp } from '../support/ledger-app.js';
import { nmapReport } from '../support/nmap-fixtures.js';
import { eventually } from '../support/stack.js';

// Regression test for a fault-suite finding (npm run chaos -- --scenario broker-import): the broker
// went away while an import was being published, the upload failed, and the import read "applying"
// for ever, because ImportStarted was in the log and ImportCompleted never would be. The broker here
// is a single one of this file's own (scripts/stack.sh, own folder and ports; PostgreSQL is the test
// stack's), so stopping it disturbs nobody.
const dir = join(process.cwd(), '.stack-import-outage-test');
const KAFKA_PORT = 39292;
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

  beforeAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await ok('start');
    process.env.KAFKA_BROKERS = `127.0.0.1:${KAFKA_PORT}`;
    // One host per send: publishing takes seconds, so the broker surely dies part-way through it.
    process.env.LEDGER_PUBLISH_BATCH = '1';
    ledger = await startLedgerApp();
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

  it('answers 503 and ends "failed" once the broker is back, not "applying" for ever; the same file sent again is applied in full', async () => {
    const hosts = Array.from({ length: 3000 }, (_, i) => ({ ip: `10.44.${i >> 8}.${i & 255}`, ports: [{ port: 22, service: 'ssh' }] }));
    const xml = nmapReport(hosts, { services: '1-1000' });
    const list = () => call(ledger.url, 'GET', `/projects/${projectId}/imports`, ledger.adminToken);

    const answer = upload(ledger.url, projectId, ledger.adminToken, xml, { mode: 'update' });
    // The projector has applied ImportStarted: the hosts are being published now.
    const started = await eventually(list, (r) => r.body.items?.length === 1, 60000);
    const importId = started.body.items[0].importId;
    await killBroker();
    const r = await answer;
    expect(r.status).toBe(503);
    expect(r.body).toMatchObject({ importId, status: 'failed' });
    expect(r.text).not.toMatch(/stack|at \//);

    await ok('start');
    const failed = await eventually(() => call(ledger.url, 'GET', `/projects/${projectId}/imports/${importId}`, ledger.adminToken), (s) => s.body.status === 'failed', 180000);
    expect(failed.body.reason).toMatch(/^publishing was interrupted/);

    // Not a duplicate of the failed import: applied again, and every host is there.
    const again = await upload(ledger.url, projectId, ledger.adminToken, xml, { mode: 'update' });
    expect(again.body).toMatchObject({ status: 'completed', hostCount: 3000 });
    const counts = again.body.counts;
    expect(counts.hostsCreated + counts.hostsUpdated + counts.hostsUnchanged).toBe(3000);
    const items = (await list()).body.items.map((i: { importId: string; status: string }) => [i.importId, i.status]);
    expect(items).toContainEqual([importId, 'failed']);
    expect(items.filter(([, s]: [string, string]) => s === 'applying')).toEqual([]);
  }, 600_000);
});
