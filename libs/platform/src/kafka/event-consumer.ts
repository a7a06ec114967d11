import type { Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import { decodeEnvelope, eventCatalogue, type Envelope } from '#events';
import type { JsonLogger } from '../logging/json-logger.js';
import type { EventPublisher } from './event-publisher.js';
import { superviseConsumer, type ConsumerSupervisor } from './consumer-supervisor.js';
import { whileTopicsSettle } from './offsets.js';
import { isTransient } from './transient.js';

export interface ConsumedEvent {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  /** null when the message could not be decoded. */
  readonly event: Envelope | null;
  /** Set when the message went to the dead-letter topic: handlers must not apply it, only step past it. */
  readonly deadLettered?: string;
}

export interface BatchContext {
  readonly topic: string;
  readonly partition: number;
  heartbeat(): Promise<void>;
  /**
   * Where the fetch that brought these messages started. Transactions leave holes in the offsets a
   * consumer sees (commit/abort markers, aborted records); a hole after this offset is one of those.
   */
  readonly fetchedOffset?: string;
  /** The message of this fetch just before `offset`, if any (it was handed over earlier, in another chunk). */
  readonly precedingVisible?: (offset: string) => string | undefined;
  /** The last message handed over from this fetch, and the fetch's last offset including invisible records after it. */
  readonly lastMessageOffset?: string;
  readonly lastOffset?: string;
}

export type BatchHandler = (batch: readonly ConsumedEvent[], ctx: BatchContext) => Promise<void>;

/** Counts failed attempts per message somewhere that survives a restart. */
export interface AttemptStore {
  increment(key: string): Promise<number>;
  clear(key: string): Promise<void>;
}

/** A handler may ask to be fed again from an earlier offset (a projection that found a gap). */
export class SeekRequest extends Error {
  constructor(readonly offset: string) {
    super(`seek to ${offset}`);
  }
}

export interface EventConsumerOptions {
  /** Used as-is: no hidden suffix, so offset-reset runbooks name the real group. */
  readonly groupId: string;
  readonly topics: readonly string[];
  readonly handler: BatchHandler;
  /** Told about a fetch that held only records a read-committed consumer never sees (a transaction's marker, aborted records). */
  readonly onInvisible?: (topic: string, partition: number, firstOffset: string, lastOffset: string) => Promise<void>;
  readonly attempts: AttemptStore;
  readonly maxAttempts: number;
  readonly deadLetterTopic: string;
  readonly publisher: EventPublisher;
  readonly logger: JsonLogger;
  /** How many consecutive messages of one partition a handler receives at once. */
  readonly chunkSize?: number;
  readonly partitionsConsumedConcurrently?: number;
  readonly fromBeginning?: boolean;
  readonly sessionTimeout?: number;
  readonly backoffMs?: (attempt: number) => number;
  /** The projection's checkpoints; with them the consumer sends a partition whose checkpoint fell behind back to it (see reconcile). */
  readonly checkpoints?: () => Promise<readonly { readonly topic: string; readonly partition: number; readonly lastOffset: string }[]>;
  readonly reconcileEveryMs?: number;
}

type Decoded = { readonly msg: KafkaMessage; readonly event: Envelope | null; readonly error?: string };

/** kafkajs's Batch has it (the offset its fetch asked for); its typings do not. */
const fetchedOffsetOf = (batch: object): string | undefined => {
  const o = (batch as { fetchedOffset?: unknown }).fetchedOffset;
  return o === undefined || o === null ? undefined : String(o);
};

/** How far a handler call on messages up to `last` gets: past the fetch's trailing invisible records when `last` is the fetch's last message. */
export const reachedBy = (ctx: BatchContext | undefined, last: string): string =>
  ctx?.lastOffset !== undefined && last === ctx.lastMessageOffset && BigInt(ctx.lastOffset) > BigInt(last) ? ctx.lastOffset : last;

/** For BatchContext.precedingVisible: the message before `offset` among a fetch's messages. */
export const precedingIn = (messages: readonly { readonly offset: string }[]) => (offset: string): string | undefined => {
  const i = messages.findIndex((m) => m.offset === offset);
  return i > 0 ? messages[i - 1].offset : undefined;
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * At-least-once consumer. Offsets are committed only after the handler succeeded. A message that
 * cannot be decoded, or whose handler keeps failing for maxAttempts (counted durably), is copied
 * to the dead-letter topic with the reason; only once that copy is acknowledged does the partition
 * move on. Infrastructure failures (database or broker down) are retried without counting.
 */
export class EventConsumer {
  private readonly consumer: Consumer;
  private running = false;
  private supervisor?: ConsumerSupervisor;
  /** How far the handler got per partition since this member's last assignment. */
  private readonly handled = new Map<string, { readonly topic: string; readonly partition: number; readonly through: bigint }>();
  private reconciler?: NodeJS.Timeout;
  private reconciling = false;

  constructor(kafka: Kafka, private readonly opts: EventConsumerOptions) {
    this.consumer = kafka.consumer({
      groupId: opts.groupId,
      sessionTimeout: opts.sessionTimeout ?? 30000,
      heartbeatInterval: 3000,
      allowAutoTopicCreation: false,
      maxBytesPerPartition: 4 * 1024 * 1024,
      retry: { retries: 10 },
    });
  }

  get group(): string {
    return this.opts.groupId;
  }

  async start(): Promise<void> {
    await this.consumer.connect();
    await whileTopicsSettle(() => this.consumer.subscribe({ topics: [...this.opts.topics], fromBeginning: this.opts.fromBeginning ?? true }));
    this.running = true;
    const onInvisible = this.opts.onInvisible;
    // kafkajs steps over such a fetch without calling eachBatch; its instrumentation still reports it.
    if (onInvisible)
      this.consumer.on(this.consumer.events.END_BATCH_PROCESS, ({ payload }) => {
        if (payload.batchSize !== 0 || payload.firstOffset === null) return;
        void onInvisible(payload.topic, payload.partition, String(payload.firstOffset), String(payload.lastOffset)).catch((e: Error) =>
          this.opts.logger.warn({ msg: 'could not step over invisible records; the next batch seeks back to them', topic: payload.topic, partition: payload.partition, error: e.message }),
        );
      });
    const run = () =>
      this.consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: this.opts.partitionsConsumedConcurrently ?? 3,
        eachBatch: (payload) => this.eachBatch(payload),
      });
    // Committed offsets say where to resume.
    this.supervisor = superviseConsumer(this.consumer, () => this.consumer.connect().then(run), this.opts.logger, this.opts.groupId);
    if (this.opts.checkpoints) {
      this.consumer.on(this.consumer.events.GROUP_JOIN, () => this.handled.clear());
      this.reconciler = setInterval(() => void this.reconcile(), this.opts.reconcileEveryMs ?? 5000);
      this.reconciler.unref();
    }
    await run();
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.supervisor?.stop();
    clearInterval(this.reconciler);
    await this.consumer.disconnect();
  }

  /** Waits until the group has this member's assignment (tests and readiness). */
  onJoin(): Promise<void> {
    return new Promise((resolve) => {
      const off = this.consumer.on(this.consumer.events.GROUP_JOIN, () => {
        off();
        resolve();
      });
    });
  }

  private decode(msg: KafkaMessage): Decoded {
    try {
      return { msg, event: eventCatalogue.read(decodeEnvelope(msg.value)) };
    } catch (e) {
      return { msg, event: null, error: (e as Error).message };
    }
  }

  private async eachBatch(p: EachBatchPayload): Promise<void> {
    const { batch } = p;
    const chunkSize = this.opts.chunkSize ?? 500;
    let pending: Decoded[] = [];
    const ctx: BatchContext = {
      topic: batch.topic,
      partition: batch.partition,
      heartbeat: () => p.heartbeat(),
      fetchedOffset: fetchedOffsetOf(batch),
      precedingVisible: precedingIn(batch.messages),
      lastMessageOffset: batch.messages.at(-1)?.offset,
      lastOffset: batch.lastOffset(),
    };
    try {
      for (const msg of batch.messages) {
        if (!p.isRunning() || p.isStale()) return;
        const d = this.decode(msg);
        if (d.event === null) {
          await this.flush(pending, p, ctx);
          pending = [];
          await this.deadLetter(d.msg, batch.topic, batch.partition, d.error ?? 'undecodable', 0);
          await this.deliver([{ topic: batch.topic, partition: batch.partition, offset: msg.offset, event: null, deadLettered: d.error }], p, ctx);
          continue;
        }
        pending.push(d);
        if (pending.length >= chunkSize) {
          await this.flush(pending, p, ctx);
          pending = [];
        }
      }
      await this.flush(pending, p, ctx);
    } catch (e) {
      if (e instanceof SeekRequest) {
        this.opts.logger.warn({ msg: 'seeking back', topic: batch.topic, partition: batch.partition, offset: e.offset });
        this.consumer.seek({ topic: batch.topic, partition: batch.partition, offset: e.offset });
        return;
      }
      throw e;
    }
  }

  private toConsumed(d: Decoded, topic: string, partition: number): ConsumedEvent {
    return { topic, partition, offset: d.msg.offset, event: d.event };
  }

  /** Hands a chunk to the handler; on a non-transient failure retries message by message to isolate the poison one. */
  private async flush(chunk: Decoded[], p: EachBatchPayload, ctx: BatchContext): Promise<void> {
    if (chunk.length === 0) return;
    const items = chunk.map((d) => this.toConsumed(d, ctx.topic, ctx.partition));
    const ok = await this.tryDeliver(items, p, ctx, chunk.length === 1);
    if (ok) return;
    for (const d of chunk) await this.tryDeliver([this.toConsumed(d, ctx.topic, ctx.partition)], p, ctx, true);
  }

  /**
   * true once delivered (or dead-lettered, when single). false: a multi-message chunk failed for a
   * non-transient reason and should be split.
   */
  private async tryDeliver(items: ConsumedEvent[], p: EachBatchPayload, ctx: BatchContext, single: boolean): Promise<boolean> {
    let transientRound = 0;
    for (;;) {
      try {
        await this.deliver(items, p, ctx);
        if (single) await this.opts.attempts.clear(this.attemptKey(items[0])).catch(() => undefined);
        return true;
      } catch (err) {
        if (err instanceof SeekRequest) throw err;
        if (!p.isRunning() || p.isStale()) throw err;
        if (isTransient(err)) {
          transientRound++;
          this.opts.logger.warn({ msg: 'transient failure, retrying', topic: ctx.topic, partition: ctx.partition, offset: items[0].offset, error: (err as Error).message, round: transientRound });
          await sleep(Math.min(10000, 250 * 2 ** Math.min(transientRound, 6)));
          await p.heartbeat();
          continue;
        }
        if (!single) return false;
        const item = items[0];
        let attempts: number;
        try {
          attempts = await this.opts.attempts.increment(this.attemptKey(item));
        } catch (storeErr) {
          // Without a durable count we cannot decide to give up: treat as transient.
          this.opts.logger.warn({ msg: 'attempt store unavailable', error: (storeErr as Error).message });
          await sleep(1000);
          await p.heartbeat();
          continue;
        }
        this.opts.logger.warn({ msg: 'handler failed', topic: ctx.topic, partition: ctx.partition, offset: item.offset, type: item.event?.type, attempts, error: (err as Error).message });
        if (attempts >= this.opts.maxAttempts) {
          const original = p.batch.messages.find((m) => m.offset === item.offset);
          if (!original) throw err;
          await this.deadLetter(original, ctx.topic, ctx.partition, (err as Error).message, attempts);
          await this.deliver([{ ...item, deadLettered: (err as Error).message }], p, ctx);
          await this.opts.attempts.clear(this.attemptKey(item)).catch(() => undefined);
          return true;
        }
        await sleep(this.opts.backoffMs ? this.opts.backoffMs(attempts) : Math.min(5000, 100 * 2 ** attempts));
        await p.heartbeat();
      }
    }
  }

  private async deliver(items: readonly ConsumedEvent[], p: EachBatchPayload, ctx: BatchContext): Promise<void> {
    await this.opts.handler(items, ctx);
    // Past the fetch's trailing invisible records too, so a restart does not fetch them again.
    const through = reachedBy(ctx, items[items.length - 1].offset);
    p.resolveOffset(through);
    this.handled.set(`${ctx.topic}|${ctx.partition}`, { topic: ctx.topic, partition: ctx.partition, through: BigInt(through) });
    await p.commitOffsetsIfNecessary(p.uncommittedOffsets());
    await p.heartbeat();
  }

  /**
   * A checkpoint can fall behind what this member handled with no new message to show it: a
   * database crash lost the last commits (projections commit asynchronously), or a rebuild swapped
   * in a schema that ends earlier. The handler's gap check sees that only on the partition's next
   * message, which may never come (an import's last chunk), so the import would stay unapplied.
   * Every few seconds such a partition is sent back to its checkpoint.
   */
  private async reconcile(): Promise<void> {
    if (this.reconciling || !this.running || this.handled.size === 0) return;
    this.reconciling = true;
    try {
      // Taken before the checkpoints are read: a chunk is counted here only after its commit.
      const seen = new Map(this.handled);
      const at = new Map((await this.opts.checkpoints!()).map((c) => [`${c.topic}|${c.partition}`, BigInt(c.lastOffset)]));
      for (const [key, h] of seen) {
        const checkpoint = at.get(key) ?? -1n;
        if (checkpoint >= h.through || this.handled.get(key) !== h) continue;
        this.opts.logger.warn({ msg: 'checkpoint behind what was handled (the database lost commits, or a rebuild was swapped in); seeking back', topic: h.topic, partition: h.partition, checkpoint: String(checkpoint), handled: String(h.through) });
        this.consumer.seek({ topic: h.topic, partition: h.partition, offset: String(checkpoint + 1n) });
        this.handled.delete(key);
      }
    } catch {
      // The database or the group is unavailable: the handler's retries report that; next tick tries again.
    } finally {
      this.reconciling = false;
    }
  }

  private attemptKey(item: ConsumedEvent): string {
    return `${this.opts.groupId}|${item.topic}|${item.partition}|${item.offset}`;
  }

  /** The copy must be acknowledged before the original is committed: a failed send throws and blocks the commit. */
  private async deadLetter(msg: KafkaMessage, topic: string, partition: number, reason: string, attempts: number): Promise<void> {
    await this.opts.publisher.sendRaw(this.opts.deadLetterTopic, [
      {
        key: msg.key,
        value: msg.value,
        headers: {
          'x-original-topic': topic,
          'x-original-partition': String(partition),
          'x-original-offset': msg.offset,
          'x-consumer-group': this.opts.groupId,
          'x-error': reason.slice(0, 2000),
          'x-attempts': String(attempts),
        },
      },
    ]);
    this.opts.logger.warn({ msg: 'message dead-lettered', topic, partition, offset: msg.offset, reason: reason.slice(0, 500), attempts });
  }
}

/** For processes without a database whose handlers never fail on content (the worker): counts reset on restart. */
export class MemoryAttemptStore implements AttemptStore {
  private readonly counts = new Map<string, number>();
  async increment(key: string): Promise<number> {
    const n = (this.counts.get(key) ?? 0) + 1;
    this.counts.set(key, n);
    return n;
  }
  async clear(key: string): Promise<void> {
    this.counts.delete(key);
  }
}
