import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { randomUUID } from 'node:crypto';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Kafka } from 'kafkajs';
import { Topics } from '#events';
import type { EventPublisher } from '#platform';
import { eventually, testKafka, testOrm, testPrefix } from '../support/stack.js';
import { projectCreated } from '../support/events.js';

const freePort = (): Promise<number> =>
  new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

describe('ledger projector process SIGKILLed mid-stream', () => {
  let prefix: string;
  let kafka: Kafka;
  let publisher: EventPublisher;
  let orm: MikroORM;
  let url: string;
  let child: ChildProcess | undefined;

  const startProjector = async () => {
    const port = await freePort();
    const p = spawn(process.execPath, ['dist/apps/ledger-projector/src/main.js'], {
      env: { ...process.env, LEDGER_PORT: String(port), KAFKA_TOPIC_PREFIX: prefix, DATABASE_URL: url, LEDGER_BATCH_SIZE: '20', LOG_LEVEL: 'warn' },
      stdio: 'ignore',
    });
    return p;
  };
  const rows = async () => Number((await orm.em.fork().execute<{ c: string }[]>(`select count(*) as c from ledger.projects`).catch(() => [{ c: '0' }]))[0].c);

  beforeAll(async () => {
    prefix = testPrefix();
    ({ kafka, publisher } = await testKafka(prefix));
    ({ orm, url } = await testOrm());
  });
  afterAll(async () => {
    child?.kill('SIGKILL');
    await publisher.disconnect();
    await orm.close();
  });

  it('resumes from its checkpoint: every event applied exactly once, checkpoints at the log end', async () => {
    const events = Array.from({ length: 2000 }, (_, i) => projectCreated(`kill-${i}`, randomUUID()));
    for (let i = 0; i < events.length; i += 500) await publisher.publish(events.slice(i, i + 500));

    child = await startProjector();
    await eventually(rows, (n) => n > 0, 60000);
    child.kill('SIGKILL');
    await new Promise((r) => child!.once('exit', r));
    const partial = await rows();
    expect(partial).toBeLessThan(2000);

    child = await startProjector();
    await eventually(rows, (n) => n === 2000, 90000);
    const names = await orm.em.fork().execute<{ name: string; c: string }[]>(`select name, count(*) as c from ledger.projects group by name having count(*) > 1`);
    expect(names).toEqual([]);
    const members = Number((await orm.em.fork().execute<{ c: string }[]>(`select count(*) as c from ledger.project_members`))[0].c);
    expect(members).toBe(2000);

    const admin = kafka.admin();
    await admin.connect();
    const ends = await admin.fetchTopicOffsets(prefix + Topics.projects.name);
    await admin.disconnect();
    const cps = await orm.em.fork().execute<{ partition: number; last_offset: string }[]>(`select partition, last_offset from ledger.projection_checkpoint`);
    for (const e of ends.filter((x) => Number(x.high) > 0)) {
      expect(cps.find((c) => c.partition === e.partition)?.last_offset).toBe(String(Number(e.high) - 1));
    }
    child.kill('SIGTERM');
    await new Promise((r) => child!.once('exit', r));
    child = undefined;
  });
});
