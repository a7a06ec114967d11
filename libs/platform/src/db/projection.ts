import type { MikroORM } from '@mikro-orm/postgresql';
import type { Kafka } from 'kafkajs';
import { decodeEnvelope, eventCatalogue } from '#events';
import type { BatchHandler, ConsumedEvent } from '../kafka/event-consumer.js';
import { precedingIn, reachedBy, SeekRequest } from '../kafka/event-consumer.js';
import { fetchEndOffsets } from '../kafka/offsets.js';
import { migrateSchema, quoteIdent, sql, type Em } from './database.js';

/**
 * A read model fed by events. `apply` runs inside the transaction that also moves the checkpoint,
 * with search_path set to the projection's schema, so the same code fills the live schema or a
 * fresh one during a rebuild. Table names in its SQL must therefore be unqualified.
 */
export interface Projection {
  readonly name: string;
  readonly migrations: readonly string[];
  apply(em: Em, events: readonly ConsumedEvent[]): Promise<void>;
  /** Told about an event that went to the dead-letter topic instead of being applied (e.g. to flag its import). */
  onDeadLetter?(em: Em, event: ConsumedEvent): Promise<void>;
  /** A stable digest of the read model, to compare a rebuild with the live copy. */
  checksum?(em: Em): Promise<string>;
}

const CHECKPOINT_TABLE = `create table projection_checkpoint (topic text not null, partition int not null, last_offset bigint not null, updated_at timestamptz not null default now(), primary key (topic, partition))`;

export class ProjectionRunner {
  constructor(
    private readonly orm: MikroORM,
    readonly projection: Projection,
    readonly schema: string = projection.name,
  ) {}

  async init(): Promise<void> {
    await migrateSchema(this.orm, this.schema, [CHECKPOINT_TABLE, ...this.projection.migrations]);
  }

  /** Applies what is new in a batch, exactly once, with the checkpoint in the same transaction. */
  readonly handle: BatchHandler = async (batch, ctx) => {
    if (batch.length === 0) return;
    const { topic, partition } = batch[0];
    const em = this.orm.em.fork();
    await em.transactional(async (tx) => {
      await sql(tx, `set local search_path to ${quoteIdent(this.schema)}, public`);
      // Durability comes from the log: if the last commits are lost in a database crash, the
      // checkpoint is lost with them and the same events are applied again (the gap check below on
      // the partition's next message, the consumer's reconcile if none comes). So no fsync wait.
      await sql(tx, `set local synchronous_commit = off`);
      const rows = await sql<{ last_offset: string }>(tx,
        `select last_offset from projection_checkpoint where topic = ? and partition = ? for update`,
        [topic, partition],
      );
      const last = rows.length ? BigInt(rows[0].last_offset) : -1n;
      const fresh = batch.filter((m) => BigInt(m.offset) > last);
      if (fresh.length === 0) return;
      // Nothing is compacted, but transactions (imports) leave holes a read-committed consumer never
      // sees: their markers and aborted records. What lies between the fetch's previous message (or
      // the fetch's start) and this one is such a hole. A hole that begins after the checkpoint is
      // ours to fill: the consumer is ahead of this schema (right after a rebuild swap, or a
      // database crash lost the last commits, maybe of an earlier chunk of this very fetch). Go back.
      const first = BigInt(fresh[0].offset);
      if (first > last + 1n) {
        const prev = ctx?.precedingVisible?.(fresh[0].offset);
        const from = prev !== undefined ? BigInt(prev) + 1n : ctx?.fetchedOffset !== undefined ? BigInt(ctx.fetchedOffset) : first;
        if (from > last + 1n) throw new SeekRequest(String(last + 1n));
      }
      // The fetch's invisible records after its last message are stepped over with it.
      const through = reachedBy(ctx, fresh[fresh.length - 1].offset);
      const events = fresh.filter((m) => m.event !== null && !m.deadLettered);
      if (events.length > 0) await this.projection.apply(tx, events);
      if (this.projection.onDeadLetter) for (const m of fresh) if (m.deadLettered && m.event) await this.projection.onDeadLetter(tx, m);
      await sql(tx, 
        `insert into projection_checkpoint(topic, partition, last_offset) values (?, ?, ?)
         on conflict (topic, partition) do update set last_offset = excluded.last_offset, updated_at = now()`,
        [topic, partition, through],
      );
    });
  };

  /**
   * A fetch held only invisible records (a transaction's marker, an aborted import), from `first` to
   * `last`: the checkpoint steps over them if it stands right before them, so the next batch finds no
   * hole. Anything else (already past them, or behind: a hole the next batch seeks back over) is left.
   */
  readonly stepOver = async (topic: string, partition: number, first: string, last: string): Promise<void> => {
    const em = this.orm.em.fork();
    await em.transactional(async (tx) => {
      await sql(tx, `set local search_path to ${quoteIdent(this.schema)}, public`);
      const rows = await sql<{ last_offset: string }>(tx, `select last_offset from projection_checkpoint where topic = ? and partition = ? for update`, [topic, partition]);
      const at = rows.length ? BigInt(rows[0].last_offset) : -1n;
      if (at < BigInt(first) - 1n || at >= BigInt(last)) return;
      await sql(tx,
        `insert into projection_checkpoint(topic, partition, last_offset) values (?, ?, ?)
         on conflict (topic, partition) do update set last_offset = excluded.last_offset, updated_at = now()`,
        [topic, partition, last],
      );
    });
  };

  async checkpoints(): Promise<{ topic: string; partition: number; lastOffset: string }[]> {
    const rows = await this.orm.em.fork().execute<{ topic: string; partition: number; last_offset: string }[]>(
      `select topic, partition, last_offset from ${quoteIdent(this.schema)}.projection_checkpoint order by topic, partition`,
    );
    return rows.map((r) => ({ topic: r.topic, partition: r.partition, lastOffset: String(r.last_offset) }));
  }

  async checksum(): Promise<string> {
    if (!this.projection.checksum) throw new Error(`${this.projection.name} has no checksum`);
    const em = this.orm.em.fork();
    return em.transactional(async (tx) => {
      await sql(tx, `set local search_path to ${quoteIdent(this.schema)}, public`);
      return this.projection.checksum!(tx);
    });
  }
}

export interface RebuildOptions {
  readonly topics: readonly string[];
  /** Consumer group used for the replay; deleted afterwards. */
  readonly groupId: string;
  /** Replace the live schema with the rebuilt one; otherwise the rebuilt schema is left for comparison. */
  readonly swap: boolean;
  readonly targetSchema?: string;
  readonly onProgress?: (applied: number, total: number) => void;
  /** The live consumer's dead letters: what it skipped, the rebuild skips too, so both agree. */
  readonly deadLetters?: { readonly topic: string; readonly liveGroupId: string };
  /** Replays only what this keeps (e.g. one project up to a moment); the rest is stepped over. Called in log order per partition. */
  readonly select?: (event: ConsumedEvent) => boolean;
  /**
   * Runs in the swap's transaction while both schemas exist (quoted names), for state kept outside
   * the projection that points into it (e.g. cursors on row ids a replay renumbers).
   */
  readonly beforeSwap?: (tx: Em, schemas: { readonly live: string; readonly rebuilt: string }) => Promise<void>;
}

/** Reads a dead-letter topic to its current end and returns `${topic}|${partition}|${offset}` of one group's skips. */
export async function readDeadLetterKeys(kafka: Kafka, topic: string, groupId: string, readerGroup: string): Promise<Set<string>> {
  const keys = new Set<string>();
  const admin = kafka.admin();
  await admin.connect();
  const ends = new Map<number, bigint>();
  try {
    for (const p of await fetchEndOffsets(admin, topic)) if (p.high > 0n) ends.set(p.partition, p.high);
  } finally {
    await admin.disconnect();
  }
  if (ends.size === 0) return keys;
  const consumer = kafka.consumer({ groupId: readerGroup, allowAutoTopicCreation: false });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise<void>((resolve) => {
    void consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        const h = (k: string) => message.headers?.[k]?.toString();
        if (h('x-consumer-group') === groupId) keys.add(`${h('x-original-topic')}|${h('x-original-partition')}|${h('x-original-offset')}`);
        if (BigInt(message.offset) >= (ends.get(partition) ?? 0n) - 1n) ends.delete(partition);
        if (ends.size === 0) resolve();
      },
    });
  });
  await consumer.disconnect();
  const cleanup = kafka.admin();
  await cleanup.connect();
  await cleanup.deleteGroups([readerGroup]).catch(() => undefined);
  await cleanup.disconnect();
  return keys;
}

/**
 * Replays the topics from offset zero up to their current end into a fresh schema, then (when asked)
 * swaps it in atomically. The live consumer keeps running: its gap check (or, on a partition with
 * nothing new, its reconcile) sends it back to the rebuilt schema's checkpoint after the swap.
 */
export async function rebuildProjection(orm: MikroORM, kafka: Kafka, projection: Projection, opts: RebuildOptions): Promise<{ schema: string; applied: number }> {
  const target = opts.targetSchema ?? `${projection.name}_rebuild_${Date.now().toString(36)}`;
  const runner = new ProjectionRunner(orm, projection, target);
  await orm.em.fork().execute(`drop schema if exists ${quoteIdent(target)} cascade`);
  await runner.init();

  const admin = kafka.admin();
  await admin.connect();
  const ends = new Map<string, bigint>();
  let total = 0n;
  try {
    for (const t of opts.topics) {
      for (const p of await fetchEndOffsets(admin, t)) {
        if (p.high > 0n) ends.set(`${t}|${p.partition}`, p.high);
        total += p.high - p.low;
      }
    }
  } finally {
    await admin.disconnect();
  }

  const skip = opts.deadLetters ? await readDeadLetterKeys(kafka, opts.deadLetters.topic, opts.deadLetters.liveGroupId, `${opts.groupId}.dead-letters`) : new Set<string>();
  let applied = 0;
  if (ends.size > 0) {
    const consumer = kafka.consumer({ groupId: opts.groupId, allowAutoTopicCreation: false, maxBytesPerPartition: 8 * 1024 * 1024 });
    await consumer.connect();
    await consumer.subscribe({ topics: [...opts.topics], fromBeginning: true });
    const remaining = new Set(ends.keys());
    const stepping: Promise<void>[] = [];
    // What this consumer has gone through per partition, invisible records included: the
    // checkpoint should be there, unless the database lost commits (then the handler refuses).
    const through = new Map<string, bigint>();
    const wentThrough = (key: string, offset: string) => {
      if (BigInt(offset) > (through.get(key) ?? -1n)) through.set(key, BigInt(offset));
    };
    let failure: unknown;
    const done = new Promise<void>((resolve) => {
      // A partition is replayed once a fetch reached its end, visible or not (it may end with a
      // transaction's marker, which no batch hands over).
      consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
        const key = `${payload.topic}|${payload.partition}`;
        if (payload.batchSize === 0 && payload.firstOffset !== null) wentThrough(key, String(payload.lastOffset));
        const end = ends.get(key);
        if (end === undefined || !remaining.has(key) || BigInt(payload.lastOffset) < end - 1n) return;
        if (payload.batchSize === 0) stepping.push(runner.stepOver(payload.topic, payload.partition, String(payload.firstOffset), String(payload.lastOffset)));
        remaining.delete(key);
        if (remaining.size === 0) resolve();
      });
      void consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: 2,
        eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
          const key = `${batch.topic}|${batch.partition}`;
          const end = ends.get(key);
          if (end === undefined || !remaining.has(key)) return;
          const items: ConsumedEvent[] = [];
          for (const m of batch.messages) {
            if (BigInt(m.offset) >= end) break;
            let event = null;
            try {
              event = eventCatalogue.read(decodeEnvelope(m.value));
            } catch {
              // Undecodable records were dead-lettered when first consumed; the rebuild skips them the same way.
            }
            const dead = skip.has(`${batch.topic}|${batch.partition}|${m.offset}`);
            const item: ConsumedEvent = { topic: batch.topic, partition: batch.partition, offset: m.offset, event, ...(dead ? { deadLettered: 'dead-lettered by the live consumer' } : {}) };
            items.push(opts.select && event && !dead && !opts.select(item) ? { ...item, event: null } : item);
          }
          // Records past the replay's end are not applied: the checkpoint must not step over them.
          const cut = batch.messages.some((m) => BigInt(m.offset) >= end);
          // A fresh group reading each partition from its start, never seeking: a fetch "starts" right
          // after what it went through before (kafkajs steps over fetches of invisible records alone).
          const ctx = {
            topic: batch.topic, partition: batch.partition, heartbeat,
            fetchedOffset: String((through.get(key) ?? -1n) + 1n),
            precedingVisible: precedingIn(batch.messages),
            lastMessageOffset: items.at(-1)?.offset,
            lastOffset: cut ? undefined : batch.lastOffset(),
          };
          try {
            for (let i = 0; i < items.length; i += 1000) await runner.handle(items.slice(i, i + 1000), ctx);
          } catch (e) {
            failure = e;
            remaining.clear();
            resolve();
            return;
          }
          if (items.length) wentThrough(key, reachedBy(ctx, items[items.length - 1].offset));
          applied += items.length;
          opts.onProgress?.(applied, Number(total));
          if (items.length) resolveOffset(items[items.length - 1].offset);
          await heartbeat();
        },
      });
    });
    await done;
    await Promise.all(stepping).catch((e: unknown) => (failure ??= e));
    await consumer.disconnect();
    const cleanup = kafka.admin();
    await cleanup.connect();
    await cleanup.deleteGroups([opts.groupId]).catch(() => undefined);
    await cleanup.disconnect();
    if (failure) {
      await orm.em.fork().execute(`drop schema if exists ${quoteIdent(target)} cascade`);
      throw failure;
    }
  }

  if (opts.swap) {
    const live = quoteIdent(projection.name);
    const old = quoteIdent(`${projection.name}_old_${Date.now().toString(36)}`);
    await orm.em.fork().transactional(async (tx) => {
      await sql(tx, `select pg_advisory_xact_lock(hashtext(?))`, [`migrate:${projection.name}`]);
      await opts.beforeSwap?.(tx, { live, rebuilt: quoteIdent(target) });
      await sql(tx, `alter schema ${live} rename to ${old}`);
      await sql(tx, `alter schema ${quoteIdent(target)} rename to ${live}`);
      await sql(tx, `drop schema ${old} cascade`);
    });
    return { schema: projection.name, applied };
  }
  return { schema: target, applied };
}
