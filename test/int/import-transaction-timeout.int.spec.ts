import { call, startLedgerApp, upload, type RunningApp } from '../support/ledger-app.js';
import { nmapReport } from '../support/nmap-fixtures.js';
import { eventually } from '../support/stack.js';

// An import is one Kafka transaction, which the broker aborts once it has been open for
// LEDGER_IMPORT_TRANSACTION_TIMEOUT_MS. A report that takes longer to publish must fail clearly,
// apply nothing, and be recorded as failed (not read "applying" for ever, not half-applied).
describe('an import that outlasts its Kafka transaction', () => {
  const saved = { batch: process.env.LEDGER_PUBLISH_BATCH, timeout: process.env.LEDGER_IMPORT_TRANSACTION_TIMEOUT_MS };
  let ledger: RunningApp;

  beforeAll(async () => {
    // One host per send and the shortest window: publishing 40,000 hosts this way takes well over 10 s.
    process.env.LEDGER_PUBLISH_BATCH = '1';
    process.env.LEDGER_IMPORT_TRANSACTION_TIMEOUT_MS = '10000';
    ledger = await startLedgerApp();
  }, 120_000);

  afterAll(async () => {
    await ledger?.close();
    for (const [k, v] of [['LEDGER_PUBLISH_BATCH', saved.batch], ['LEDGER_IMPORT_TRANSACTION_TIMEOUT_MS', saved.timeout]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  it('answers 413 naming the setting, applies nothing and records the import as failed', async () => {
    const p = await call(ledger.url, 'POST', '/projects', ledger.adminToken, { name: 'too-slow' });
    const projectId = p.body.id as string;
    const hosts = Array.from({ length: 40000 }, (_, i) => ({ ip: `10.45.${i >> 8}.${i & 255}`, ports: [{ port: 80, service: 'http' }] }));
    const r = await upload(ledger.url, projectId, ledger.adminToken, nmapReport(hosts, { services: '1-1000' }));
    expect(r.status).toBe(413);
    expect(r.body).toMatchObject({ code: 'REPORT.TOO_LARGE', status: 'failed' });
    expect(r.body.message).toMatch(/LEDGER_IMPORT_TRANSACTION_TIMEOUT_MS/);
    const importId = r.body.importId as string;
    const s = await eventually(() => call(ledger.url, 'GET', `/projects/${projectId}/imports/${importId}`, ledger.adminToken), (x) => x.body.status === 'failed', 120000);
    expect(s.body.reason).toMatch(/^publishing took longer than LEDGER_IMPORT_TRANSACTION_TIMEOUT_MS \(10 s\)/);
    expect(s.body.counts).toMatchObject({ hostsCreated: 0, hostsUpdated: 0, hostsUnchanged: 0 });
    expect((await call(ledger.url, 'GET', `/projects/${projectId}/hosts?limit=10`, ledger.adminToken)).body.items).toEqual([]);
  }, 600_000);
});
