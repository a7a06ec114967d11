import kafkajs, { type Admin, type Kafka } from 'kafkajs';
import { allTopics, FOREVER, withPrefix, type TopicSpec } from '#events';
import { parseTopicPartitions, type KafkaEnv } from '../config/common.config.js';

export interface EnsureTopicsOptions {
  readonly prefix?: string;
  /** Replicas of topics created now. Unset: as many as the existing topics have; for the first ones, 3 on a cluster of ≥ 3 brokers, else 1. */
  readonly replicationFactor?: number;
  /** min.insync.replicas. Unset: 2 for topics created with ≥ 3 replicas (else 1), existing topics keep theirs. Set: enforced on every topic. */
  readonly minInsyncReplicas?: number;
  /** Partition counts by catalogue name (without prefix) instead of the catalogue's; existing topics grow to them. */
  readonly partitions?: Readonly<Record<string, number>>;
  readonly specs?: readonly TopicSpec[];
}

/** The topic settings of an app's validated environment. */
export function topicOptions(env: KafkaEnv): EnsureTopicsOptions {
  return {
    prefix: env.KAFKA_TOPIC_PREFIX,
    replicationFactor: env.KAFKA_REPLICATION_FACTOR,
    minInsyncReplicas: env.KAFKA_MIN_ISR,
    partitions: parseTopicPartitions(env.KAFKA_TOPIC_PARTITIONS),
  };
}

/** kafkajs' ConfigSource for a value set on the topic itself (not inherited from the broker). */
const TOPIC_CONFIG = 1;
const defaultMinIsr = (replicas: number) => (replicas >= 3 ? 2 : 1);

/**
 * Creates the catalogue's topics when missing and repairs their retention if someone changed it:
 * an event topic that deletes or compacts old records can no longer be replayed.
 * Safe to run from every app at every start.
 */
// kafkajs is CommonJS: its runtime values come through the default export under ESM.
const { ConfigResourceTypes } = kafkajs;

/** A topic listed as missing turned out to exist: the broker's topic list was behind. Look again. */
class TopicListBehind extends Error {}

export async function ensureTopics(kafka: Kafka, opts: EnsureTopicsOptions = {}): Promise<readonly TopicSpec[]> {
  // Right after topics are created (by us or by an app starting beside us), brokers briefly answer
  // "does not host this topic-partition" / "not the leader"; such answers are retried.
  for (let attempt = 1; ; attempt++) {
    try {
      return await ensureTopicsOnce(kafka, opts);
    } catch (e) {
      if (e instanceof TopicListBehind && attempt >= 20) return (opts.specs ?? allTopics()).map((s) => withPrefix(s, opts.prefix ?? ''));
      if (attempt >= 20 || (!(e instanceof TopicListBehind) && !/does not host this topic-partition|not the leader|leader not available|unknown topic or partition/i.test((e as Error).message))) throw e;
      await new Promise((r) => setTimeout(r, Math.min(1000, 100 * attempt)));
    }
  }
}

async function ensureTopicsOnce(kafka: Kafka, opts: EnsureTopicsOptions): Promise<readonly TopicSpec[]> {
  const specs = (opts.specs ?? allTopics()).map((s) => withPrefix({ ...s, partitions: opts.partitions?.[s.name] ?? s.partitions }, opts.prefix ?? ''));
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const present = specs.filter((s) => existing.has(s.name));
    const meta = present.length > 0 ? await admin.fetchTopicMetadata({ topics: present.map((s) => s.name) }) : { topics: [] };
    const missing = specs.filter((s) => !existing.has(s.name));
    if (missing.length > 0) {
      const rf = opts.replicationFactor ?? (await autoReplicationFactor(admin, meta.topics));
      const minIsr = opts.minInsyncReplicas ?? defaultMinIsr(rf);
      await admin
        .createTopics({
          waitForLeaders: true,
          topics: missing.map((s) => ({
            topic: s.name,
            numPartitions: s.partitions,
            replicationFactor: rf,
            configEntries: Object.entries({ ...s.configs, ...(rf > 1 || opts.minInsyncReplicas ? { 'min.insync.replicas': String(minIsr) } : {}) }).map(([name, value]) => ({ name, value })),
          })),
        })
        .catch(async (e: unknown) => {
          const types = errorTypes(e);
          // Another app created it a moment ago, or the topic list we read was stale: either way the
          // existing topics still need their settings checked, so start over.
          if (types.length > 0 && types.every((t) => t === 'TOPIC_ALREADY_EXISTS')) throw new TopicListBehind('topics created meanwhile');
          if (types.includes('INVALID_REPLICATION_FACTOR')) {
            const brokers = (await admin.describeCluster()).brokers.length;
            throw new Error(`cannot create topics with ${rf} replicas: the cluster has ${brokers} broker(s) online (set KAFKA_REPLICATION_FACTOR, or start more brokers)`);
          }
          throw e;
        });
    }
    if (present.length > 0) {
      const described = await admin.describeConfigs({
        includeSynonyms: false,
        resources: present.map((s) => ({ type: ConfigResourceTypes.TOPIC, name: s.name, configNames: [...Object.keys(FOREVER), 'min.insync.replicas'] })),
      });
      const drift = described.resources.filter((r) =>
        r.configEntries.some(
          (c) =>
            (FOREVER[c.configName] !== undefined && c.configName !== 'max.message.bytes' && c.configValue !== FOREVER[c.configName]) ||
            (c.configName === 'min.insync.replicas' && opts.minInsyncReplicas !== undefined && c.configValue !== String(opts.minInsyncReplicas)),
        ),
      );
      if (drift.length > 0) {
        // alterConfigs replaces a topic's whole set of overrides: carry min.insync.replicas over.
        await admin.alterConfigs({
          validateOnly: false,
          resources: drift.map((r) => {
            const current = r.configEntries.find((c) => c.configName === 'min.insync.replicas');
            const minIsr = opts.minInsyncReplicas !== undefined ? String(opts.minInsyncReplicas) : current && Number(current.configSource) === TOPIC_CONFIG ? current.configValue : undefined;
            return {
              type: ConfigResourceTypes.TOPIC,
              name: r.resourceName,
              configEntries: Object.entries({ ...FOREVER, ...(minIsr ? { 'min.insync.replicas': minIsr } : {}) }).map(([name, value]) => ({ name, value })),
            };
          }),
        });
      }
      const grow = present.filter((s) => (meta.topics.find((t) => t.name === s.name)?.partitions.length ?? s.partitions) < s.partitions);
      if (grow.length > 0) await admin.createPartitions({ topicPartitions: grow.map((s) => ({ topic: s.name, count: s.partitions })) });
    }
    return specs;
  } finally {
    await admin.disconnect();
  }
}

/** kafkajs reports per-topic failures as an aggregate, wrapped once more when it gives up. */
function errorTypes(e: unknown): string[] {
  type E = { type?: string; errors?: E[]; cause?: E } | undefined;
  const err = e as E;
  return [err, err?.cause].flatMap((x) => [x?.type, ...(x?.errors ?? []).map((y) => y?.type)]).filter((t): t is string => typeof t === 'string');
}

/**
 * Topics created beside existing ones get as many replicas as those (a broker that is down while an
 * app starts must not make new topics less safe); the first ones get 3 on a cluster of ≥ 3 brokers.
 */
async function autoReplicationFactor(admin: Admin, present: readonly { partitions: readonly { replicas: readonly number[] }[] }[]): Promise<number> {
  const known = Math.max(0, ...present.flatMap((t) => t.partitions.map((p) => p.replicas.length)));
  if (known > 0) return known;
  return (await admin.describeCluster()).brokers.length >= 3 ? 3 : 1;
}
