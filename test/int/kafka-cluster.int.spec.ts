import { spawn, spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import kafkajs, { type Admin, type Kafka } from 'kafkajs';
import { Topics, type Envelope } from '#events';
import { createKafka, ensureTopics, EventConsumer, EventPublisher, MemoryAttemptStore } from '#platform';
import { eventually, kafkaEnv, quietLogger, testPrefix } from '../support/stack.js';
import { projectCreated } from '../support/events.js';

// A three-node KRaft cluster started by scripts/stack.sh --cluster, on its own ports and folder (the
// test stack is left alone). One broker is SIGKILLed while events are published and stays down while
// they are read back: every event is there once, none lost, none doubled. Then it rejoins.
const dir = join(process.cwd(), '.stack-cluster-test');
const KAFKA_PORT = 29192;
const brokers = [0, 1, 2].map((i) => `127.0.0.1:${KAFKA_PORT + 2 * i}`).join(',');
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

async function ok(...args: string[]): Promise<string> {
  const r = await stack(...args);
  if (r.code !== 0) throw new Error(`stack.sh ${args.join(' ')} failed:\n${r.out}`);
  return r.out;
}

describe('stack.sh cluster commands, refused before anything starts', () => {
  const scratch = join(process.cwd(), '.stack-cluster-refusals');
  const run = (args: string[], extra: Record<string, string>) =>
    spawnSync('bash', ['scripts/stack.sh', ...args], {
      env: { ...process.env, KAFKA_BROKERS: undefined, FALCORIA_KAFKA_BROKERS_COUNT: undefined, FALCORIA_STACK_DIR: scratch, FALCORIA_EXTERNAL_PG: '1', ...extra },
      encoding: 'utf8',
    });
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('kill-broker without a cluster, a bad node count, and overlapping ports are clear errors', () => {
    expect(run(['kill-broker', '1'], {}).stderr).toContain(`no Kafka cluster in ${scratch}: start one with stack.sh start --cluster`);
    expect(run(['status'], { FALCORIA_KAFKA_BROKERS_COUNT: 'ten' }).stderr).toContain('FALCORIA_KAFKA_BROKERS_COUNT must be 1-9, not "ten"');
    const overlap = run(['start', '--cluster'], { KAFKA_PORT: '29492', KAFKA_CONTROLLER_PORT: '29494' });
    expect(overlap.status).not.toBe(0);
    expect(overlap.stderr).toMatch(/broker and controller ports overlap .*set them further apart/);
  });
});

describe('a three-broker cluster from stack.sh --cluster', () => {
  const prefix = testPrefix();
  const topic = prefix + Topics.projects.name;
  let kafka: Kafka;
  let admin: Admin;
  let publisher: EventPublisher;

  /** Every partition of the topic has all three replicas in sync again. */
  const fullyInSync = () =>
    eventually(
      async () => (await admin.fetchTopicMetadata({ topics: [topic] }).catch(() => ({ topics: [] }))).topics[0]?.partitions.map((p) => p.isr.length) ?? [],
      (isr) => isr.length > 0 && isr.every((n) => n === 3),
      90000,
    );

  beforeAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    const out = await ok('start', '--cluster');
    expect(out).toContain(`kafka cluster of 3 nodes: ${brokers}`);
    const env = kafkaEnv(prefix);
    env.KAFKA_BROKERS = brokers;
    kafka = createKafka(env, 'cluster-test');
    admin = kafka.admin();
    await admin.connect();
    await eventually(async () => (await admin.describeCluster().catch(() => ({ brokers: [] }))).brokers.length, (n) => n === 3, 60000);
  }, 300_000);

  afterAll(async () => {
    await publisher?.disconnect().catch(() => undefined);
    await admin?.disconnect().catch(() => undefined);
    await stack('stop');
    rmSync(dir, { recursive: true, force: true });
  });

  it('status names every node; the stack dir remembers the cluster', async () => {
    const out = await ok('status');
    expect(out).toMatch(/kafka-1 +running +127\.0\.0\.1:29192/);
    expect(out).toMatch(/kafka-2 +running +127\.0\.0\.1:29194/);
    expect(out).toMatch(/kafka-3 +running +127\.0\.0\.1:29196/);
    expect((await stack('kill-broker', '4')).out).toContain('node 4 does not exist: this cluster has nodes 1..3');
  });

  it('ensureTopics sees three brokers: three replicas and min.insync.replicas=2', async () => {
    await ensureTopics(kafka, { prefix });
    // A broker other than the controller may not have the new topics' metadata yet (UNKNOWN_TOPIC_OR_PARTITION).
    const meta = await eventually(
      () => admin.fetchTopicMetadata({ topics: [topic, prefix + Topics.ledger.name] }).catch(() => ({ topics: [] })),
      (m) => m.topics.length === 2,
      30000,
    );
    for (const t of meta.topics) for (const p of t.partitions) expect(p.replicas).toHaveLength(3);
    const configs = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: kafkajs.ConfigResourceTypes.TOPIC, name: topic, configNames: ['min.insync.replicas', 'retention.ms'] }] });
    const byName = Object.fromEntries(configs.resources[0].configEntries.map((c) => [c.configName, c.configValue]));
    expect(byName).toEqual({ 'min.insync.replicas': '2', 'retention.ms': '-1' });
  });

  it('loses and doubles nothing while a broker is killed, and reads everything back before it returns', async () => {
    publisher = new EventPublisher(kafka, prefix);
    await publisher.connect();
    const sent: Envelope[] = [];
    const publish = async (round: string, n: number) => {
      for (let b = 0; b < n; b += 50) {
        const batch = Array.from({ length: 50 }, (_, i) => projectCreated(`${round}-${b + i}`));
        await publisher.publish(batch); // acks=all: resolves once the in-sync replicas (≥ 2) hold it
        sent.push(...batch);
      }
    };

    await publish('before', 200);
    // Node 1 is a controller voter as well as a broker: its partitions need new leaders, and the
    // active controller may have to be re-elected first.
    expect(await ok('kill-broker', '1')).toContain('kafka node 1 killed');
    await publish('node1-down', 400);

    // Where each event sits in the log. The consumer is at-least-once: a batch it could not commit
    // while the group coordinator moved comes again (same offsets), which the apps' handlers absorb.
    // The log itself must hold each event exactly once.
    const seen = new Map<string, Set<string>>();
    const consumer = new EventConsumer(kafka, {
      groupId: `${prefix}cluster-reader`,
      topics: [topic],
      handler: async (batch) => {
        for (const e of batch) if (e.event) seen.set(e.event.eventId, (seen.get(e.event.eventId) ?? new Set()).add(`${e.partition}:${e.offset}`));
      },
      attempts: new MemoryAttemptStore(),
      maxAttempts: 3,
      deadLetterTopic: prefix + Topics.deadLetters.name,
      publisher,
      logger: quietLogger(),
      fromBeginning: true,
    });
    await consumer.start();
    try {
      await eventually(async () => seen.size, (n) => n >= sent.length, 120_000);
    } finally {
      await consumer.stop();
    }
    expect(sent).toHaveLength(600);
    expect(new Set(seen.keys())).toEqual(new Set(sent.map((e) => e.eventId)));
    expect([...seen.values()].filter((places) => places.size > 1).map((places) => [...places])).toEqual([]);

    // Back in, node 1 catches up from the others.
    await ok('start-broker', '1');
    await fullyInSync();
  }, 300_000);
});
