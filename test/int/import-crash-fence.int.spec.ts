import { randomUUID } from 'node:crypto';
import type { Envelope, ImportStartedV1 } from '#events';
import type { EventPublisher } from '#platform';
import { call, startLedgerApp, upload, type RunningApp } from '../support/ledger-app.js';
import { nmapReport } from '../support/nmap-fixtures.js';
import { testKafka } from '../support/stack.js';

// A ledger that dies while publishing an import leaves the import's Kafka transaction open, and the
// project's ledger partition waits at it (consumers read committed) until the broker's timeout,
// ten minutes by default. The instance's transactional ids are stable across restarts, so the
// restarted ledger fences what its predecessor left open as it starts.
describe('a ledger restarted after dying mid-import', () => {
  const saved = { id: process.env.LEDGER_INSTANCE_ID, wait: process.env.LEDGER_WAIT_MS };
  let first: RunningApp | undefined;
  let second: RunningApp | undefined;
  let publisher: EventPublisher | undefined;

  afterAll(async () => {
    await second?.close();
    await publisher?.disconnect();
    for (const [k, v] of [['LEDGER_INSTANCE_ID', saved.id], ['LEDGER_WAIT_MS', saved.wait]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  it('fences the transaction its predecessor left open: the next import of the project completes at once, the dead one applied nothing', async () => {
    process.env.LEDGER_INSTANCE_ID = 'crash-fence';
    // An upload answers "applying" after this long: far inside the ten minutes an open transaction holds the partition.
    process.env.LEDGER_WAIT_MS = '90000';
    first = await startLedgerApp();
    const { prefix, adminToken } = first;
    const projectId = (await call(first.url, 'POST', '/projects', adminToken, { name: 'crash' })).body.id as string;
    await first.close();

    // What the dead instance left: an import transaction open on the project's partition, under its last
    // id (slot 3 of 4): the next import takes slot 0, so only the fencing at start can end this one.
    ({ publisher } = await testKafka(prefix));
    const deadImportId = randomUUID();
    const started: Envelope<'ImportStarted', ImportStartedV1> = {
      eventId: randomUUID(), type: 'ImportStarted', schemaVersion: 1, key: projectId, occurredAt: new Date().toISOString(),
      correlationId: deadImportId, causationId: null, actor: { kind: 'user', id: 'tester' },
      payload: { projectId, importId: deadImportId, mode: 'append', trackHistory: true, fileName: 'dead.xml', fileSha256: 'ab'.repeat(32), force: false },
    };
    const open = await publisher.transaction(`${prefix}falcoria.ledger.import.crash-fence.3`, 600000);
    await open.publish([started]);

    second = await startLedgerApp(first);
    // Without the fencing, this import would wait behind the open transaction for ten minutes.
    const r = await upload(second.url, projectId, adminToken, nmapReport([{ ip: '10.46.0.1', ports: [{ port: 22, service: 'ssh' }] }], { services: '1-1000' }));
    expect(r.body).toMatchObject({ status: 'completed', hostCount: 1 });
    const imports = (await call(second.url, 'GET', `/projects/${projectId}/imports`, adminToken)).body.items.map((i: { importId: string }) => i.importId);
    expect(imports).toEqual([r.body.importId]);
    await expect(open.commit()).rejects.toThrow();
  }, 300_000);
});
