import kafkajs, { type Kafka } from 'kafkajs';
import { allTopics, FOREVER, withPrefix, type TopicSpec } from '#events';

export interface EnsureTopicsOptions {
  readonly prefix?: string;
  readonly replicationFactor?: number;
  readonly specs?: readonly TopicSpec[];
}

/**
 * Creates the catalogue's topics when missing and repairs their retention if someone changed it:
 * an event topic that deletes or compacts old records can no longer be replayed.
 * Safe to run from every app at every start.
 */
// kafkajs is CommonJS: its runtime values come through the default export under ESM.
const { ConfigResourceTypes } = kafkajs;

export async function ensureTopics(kafka: Kafka, opts: EnsureTopicsOptions = {}): Promise<readonly TopicSpec[]> {
  // Right after topics are created (by us or by an app starting beside us), brokers briefly answer
  // "does not host this topic-partition" / "not the leader"; such answers are retried.
  for (let attempt = 1; ; attempt++) {
    try {
      return await ensureTopicsOnce(kafka, opts);
    } catch (e) {
      if (attempt >= 20 || !/does not host this topic-partition|not the leader|leader not available|unknown topic or partition/i.test((e as Error).message)) throw e;
      await new Promise((r) => setTimeout(r, Math.min(1000, 100 * attempt)));
    }
  }
}

async function ensureTopicsOnce(kafka: Kafka, opts: EnsureTopicsOptions): Promise<readonly TopicSpec[]> {
  const specs = (opts.specs ?? allTopics()).map((s) => withPrefix(s, opts.prefix ?? ''));
  const rf = opts.replicationFactor ?? 1;
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = specs.filter((s) => !existing.has(s.name));
    if (missing.length > 0) {
      await admin
        .createTopics({
          waitForLeaders: true,
          topics: missing.map((s) => ({
            topic: s.name,
            numPartitions: s.partitions,
            replicationFactor: rf,
            configEntries: Object.entries({ ...s.configs, ...(rf > 1 ? { 'min.insync.replicas': String(Math.min(2, rf)) } : {}) }).map(([name, value]) => ({ name, value })),
          })),
        })
        .catch((e: { type?: string }) => {
          // Another app may have created it a moment ago.
          if (e?.type !== 'TOPIC_ALREADY_EXISTS') throw e;
        });
    }
    const present = specs.filter((s) => existing.has(s.name));
    if (present.length > 0) {
      const described = await admin.describeConfigs({
        includeSynonyms: false,
        resources: present.map((s) => ({ type: ConfigResourceTypes.TOPIC, name: s.name, configNames: Object.keys(FOREVER) })),
      });
      const drift = described.resources.filter((r) =>
        r.configEntries.some((c) => FOREVER[c.configName] !== undefined && c.configName !== 'max.message.bytes' && c.configValue !== FOREVER[c.configName]),
      );
      if (drift.length > 0) {
        await admin.alterConfigs({
          validateOnly: false,
          resources: drift.map((r) => ({
            type: ConfigResourceTypes.TOPIC,
            name: r.resourceName,
            configEntries: Object.entries(FOREVER).map(([name, value]) => ({ name, value })),
          })),
        });
      }
      const meta = await admin.fetchTopicMetadata({ topics: present.map((s) => s.name) });
      const grow = present.filter((s) => (meta.topics.find((t) => t.name === s.name)?.partitions.length ?? s.partitions) < s.partitions);
      if (grow.length > 0) await admin.createPartitions({ topicPartitions: grow.map((s) => ({ topic: s.name, count: s.partitions })) });
    }
    return specs;
  } finally {
    await admin.disconnect();
  }
}
