import kafkajs, { type Admin, type Kafka } from 'kafkajs';
import { Topics } from '#events';
import { createKafka, ensureTopics } from '#platform';
import { eventually, kafkaEnv, testPrefix } from '../support/stack.js';

// ensureTopics against the test broker: partition counts from settings, and repairs that keep what
// an operator set on purpose. (Replication on a real cluster: kafka-cluster.int.spec.ts.)
const { ConfigResourceTypes } = kafkajs;

describe('ensureTopics settings', () => {
  const prefix = testPrefix();
  let kafka: Kafka;
  let admin: Admin;
  // A fresh admin each time: kafkajs caches topic metadata for minutes.
  const partitionsOf = async (topic: string) => {
    const fresh = kafka.admin();
    await fresh.connect();
    try {
      return (await fresh.fetchTopicMetadata({ topics: [prefix + topic] })).topics[0].partitions.length;
    } finally {
      await fresh.disconnect();
    }
  };
  const configOf = async (topic: string) =>
    Object.fromEntries(
      (await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: prefix + topic, configNames: ['retention.ms', 'min.insync.replicas'] }] })).resources[0].configEntries.map((c) => [
        c.configName,
        { value: c.configValue, onTopic: Number(c.configSource) === 1 },
      ]),
    );

  beforeAll(async () => {
    kafka = createKafka(kafkaEnv(prefix), 'topic-admin-test');
    admin = kafka.admin();
    await admin.connect();
  });
  afterAll(() => admin.disconnect());

  it('creates topics with the partition counts asked for, and grows them later; never shrinks', async () => {
    await ensureTopics(kafka, { prefix, partitions: { [Topics.tasks.name]: 15 } });
    expect(await partitionsOf(Topics.tasks.name)).toBe(15);
    expect(await partitionsOf(Topics.ledger.name)).toBe(Topics.ledger.partitions);
    await ensureTopics(kafka, { prefix, partitions: { [Topics.tasks.name]: 18, [Topics.ledger.name]: 16 } });
    // KRaft applies metadata changes asynchronously: a loaded broker shows them a moment later.
    expect(await eventually(async () => [await partitionsOf(Topics.tasks.name), await partitionsOf(Topics.ledger.name)], (v) => v[0] === 18 && v[1] === 16, 15000)).toEqual([18, 16]);
    await ensureTopics(kafka, { prefix });
    expect(await partitionsOf(Topics.tasks.name)).toBe(18);
  });

  it('on one broker: one replica, min.insync.replicas inherited, unless KAFKA_MIN_ISR says otherwise', async () => {
    const meta = await admin.fetchTopicMetadata({ topics: [prefix + Topics.projects.name] });
    expect(meta.topics[0].partitions.every((p) => p.replicas.length === 1)).toBe(true);
    expect((await configOf(Topics.projects.name))['min.insync.replicas'].onTopic).toBe(false);
    // (2 on a one-replica topic would refuse every write: only to see it enforced, then put back.)
    await ensureTopics(kafka, { prefix, minInsyncReplicas: 2 });
    const isr = async () => (await configOf(Topics.projects.name))['min.insync.replicas'];
    expect(await eventually(isr, (v) => v.value === '2', 15000)).toEqual({ value: '2', onTopic: true });
    await ensureTopics(kafka, { prefix, minInsyncReplicas: 1 });
    expect((await eventually(isr, (v) => v.value === '1', 15000)).value).toBe('1');
  });

  it('repairs a shortened retention and keeps the topic’s min.insync.replicas while doing so', async () => {
    await admin.alterConfigs({
      validateOnly: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: prefix + Topics.projects.name, configEntries: [{ name: 'retention.ms', value: '60000' }, { name: 'min.insync.replicas', value: '1' }] }],
    });
    await ensureTopics(kafka, { prefix });
    expect(await eventually(() => configOf(Topics.projects.name), (c) => c['retention.ms'].value === '-1', 15000)).toEqual({ 'retention.ms': { value: '-1', onTopic: true }, 'min.insync.replicas': { value: '1', onTopic: true } });
  });

  it('refuses more replicas than brokers with a message that says what to set', async () => {
    await expect(ensureTopics(kafka, { prefix: testPrefix(), replicationFactor: 3 })).rejects.toThrow(/cannot create topics with 3 replicas: the cluster has 1 broker\(s\) online \(set KAFKA_REPLICATION_FACTOR/);
  });
});
