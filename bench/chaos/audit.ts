// What the fault suite compares after each round: the ledger's read model in PostgreSQL against the
// expected facts, signs of double application, the tasker's task table, and the Kafka log itself.
import { randomUUID } from 'node:crypto';
import { MikroORM } from '@mikro-orm/postgresql';
import kafkajs, { type Kafka } from 'kafkajs';
import { Topics } from '#events';
import { sleep } from '../scan-harness.js';

export interface Doubles {
  /** Trail rows of one event for one host more than once: the event was folded twice. */
  readonly hostEvents: number;
  /** The same change (event, host, port, field, key) recorded more than once. */
  readonly history: number;
  /** A port or host "created" (old value —) by more than one event: state lost and made again, or an observation applied twice under two ids. */
  readonly created: number;
}

export const totalDoubles = (d: Doubles): number => d.hostEvents + d.history + d.created;

export interface LoggedEvent {
  readonly partition: number;
  readonly offset: string;
  readonly eventId: string;
  readonly type: string;
  readonly occurredAt: string;
  readonly payload: Record<string, any>;
}

/** A database connection that survives the server being restarted: on an error it is opened again at the next call. */
export class Db {
  private orm?: MikroORM;

  constructor(private readonly url: string) {}

  async query<T = Record<string, any>>(sql: string, params: unknown[] = []): Promise<T[]> {
    try {
      this.orm ??= await MikroORM.init({ clientUrl: this.url, entities: [], discovery: { warnWhenNoEntities: false }, pool: { min: 0, max: 2 } });
      return await this.orm.em.fork().execute<T[]>(sql, params);
    } catch (e) {
      const orm = this.orm;
      this.orm = undefined;
      await orm?.close().catch(() => undefined);
      throw e;
    }
  }

  /** Retries while the server is away (bounded). */
  async queryPatiently<T = Record<string, any>>(sql: string, params: unknown[] = [], timeoutMs = 60000): Promise<T[]> {
    const until = Date.now() + timeoutMs;
    for (let i = 0; ; i++) {
      try {
        return await this.query<T>(sql, params);
      } catch (e) {
        if (Date.now() > until || i > 1000) throw e;
        await sleep(500);
      }
    }
  }

  async close(): Promise<void> {
    await this.orm?.close().catch(() => undefined);
    this.orm = undefined;
  }
}

export class Audit {
  readonly db: Db;
  private readonly kafka: Kafka;

  constructor(
    databaseUrl: string,
    brokers: string,
    readonly prefix: string,
  ) {
    this.db = new Db(databaseUrl);
    this.kafka = new kafkajs.Kafka({ brokers: brokers.split(','), logLevel: kafkajs.logLevel.NOTHING, connectionTimeout: 5000, retry: { retries: 5 } });
  }

  topic(t: { name: string }): string {
    return this.prefix + t.name;
  }

  /** `ip/proto/port` of every open port the ledger holds for the project. */
  async openPorts(projectId: string): Promise<Set<string>> {
    const rows = await this.db.queryPatiently<{ ip: string; proto: string; port: number }>(`select ip, proto, port from ledger.host_ports where project_id = ? and state = 'open'`, [projectId]);
    return new Set(rows.map((r) => `${r.ip}/${r.proto}/${r.port}`));
  }

  async hostCount(projectId: string): Promise<number> {
    const [r] = await this.db.query<{ n: string }>(`select count(*) as n from ledger.hosts where project_id = ? and not deleted`, [projectId]);
    return Number(r.n);
  }

  async doubles(projectId: string): Promise<Doubles> {
    const one = async (sql: string) => Number((await this.db.queryPatiently<{ n: string }>(sql, [projectId]))[0].n);
    return {
      hostEvents: await one(`select count(*) as n from (select 1 from ledger.host_events where project_id = ? group by event_id, ip having count(*) > 1) d`),
      history: await one(
        `select count(*) as n from (select 1 from ledger.history where project_id = ? group by event_id, ip, proto, port, field, key having count(*) > 1) d`,
      ),
      // A host deleted and seen again is created afresh on purpose: only hosts never deleted count.
      created: await one(
        `select count(*) as n from (select 1 from ledger.history h where h.project_id = ? and h.old is null and h.field in ('host', 'state')
            and not exists (select 1 from ledger.history x where x.project_id = h.project_id and x.ip = h.ip and x.field = 'host' and x.new is null)
          group by h.ip, h.proto, h.port, h.field having count(distinct h.event_id) > 1) d`,
      ),
    };
  }

  async imports(projectId: string): Promise<{ id: string; status: string; host_count: number | null }[]> {
    return this.db.queryPatiently(`select id, status, host_count from ledger.imports where project_id = ? order by started_at`, [projectId]);
  }

  /** Messages of the ledger's topics not yet in its checkpoints (0: the projector has applied the whole log). */
  async ledgerLag(): Promise<number> {
    const cps = await this.db.query<{ topic: string; partition: number; last_offset: string }>(`select topic, partition, last_offset from ledger.projection_checkpoint`);
    const at = new Map(cps.map((c) => [`${c.topic}|${c.partition}`, BigInt(c.last_offset)]));
    let lag = 0n;
    for (const t of [this.topic(Topics.ledger), this.topic(Topics.projects)]) {
      for (const p of await this.endOffsets(t)) {
        if (p.high === 0n) continue;
        const cp = at.get(`${t}|${p.partition}`) ?? -1n;
        if (cp < p.high - 1n) lag += p.high - 1n - cp;
      }
    }
    return Number(lag);
  }

  /** Same for the tasker's planner on the scans topic. */
  async plannerLag(): Promise<number> {
    const cps = await this.db.query<{ partition: number; last_offset: string }>(`select partition, last_offset from tasker.projection_checkpoint where topic = ?`, [this.topic(Topics.scans)]);
    const at = new Map(cps.map((c) => [c.partition, BigInt(c.last_offset)]));
    let lag = 0n;
    for (const p of await this.endOffsets(this.topic(Topics.scans))) {
      if (p.high === 0n) continue;
      const cp = at.get(p.partition) ?? -1n;
      if (cp < p.high - 1n) lag += p.high - 1n - cp;
    }
    return Number(lag);
  }

  async endOffsets(topic: string): Promise<{ partition: number; high: bigint }[]> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      return (await admin.fetchTopicOffsets(topic)).map((p) => ({ partition: p.partition, high: BigInt(p.high) }));
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  /** Current end of each partition: where a round's reading of the log starts. */
  async mark(topic: string): Promise<Map<number, bigint>> {
    return new Map((await this.endOffsets(topic)).map((p) => [p.partition, p.high]));
  }

  /** Reads a topic from `from` (or the beginning) to its current end, keeping what `keep` accepts. Bounded. */
  async read(topic: string, keep: (e: LoggedEvent) => boolean, from?: ReadonlyMap<number, bigint>, timeoutMs = 180000): Promise<LoggedEvent[]> {
    const ends = await this.endOffsets(topic);
    const left = new Map<number, bigint>();
    for (const p of ends) if (p.high > (from?.get(p.partition) ?? 0n)) left.set(p.partition, p.high - 1n);
    const out: LoggedEvent[] = [];
    if (!left.size) return out;
    const groupId = `chaos-read-${randomUUID()}`;
    if (from) {
      const admin = this.kafka.admin();
      await admin.connect();
      try {
        await admin.setOffsets({ groupId, topic, partitions: ends.map((p) => ({ partition: p.partition, offset: String(from.get(p.partition) ?? 0n) })) });
      } finally {
        await admin.disconnect().catch(() => undefined);
      }
    }
    const consumer = this.kafka.consumer({ groupId, maxBytesPerPartition: 8 * 1024 * 1024, sessionTimeout: 30000 });
    await consumer.connect();
    let timer: NodeJS.Timeout | undefined;
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      await Promise.race([
        new Promise<void>((resolve) => {
          // A partition is read once a fetch reached its end, visible or not: it may end with a
          // transaction's marker or aborted records (an import), which no batch hands over.
          consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
            const last = left.get(payload.partition);
            if (last !== undefined && BigInt(payload.lastOffset) >= last) left.delete(payload.partition);
            if (!left.size) resolve();
          });
          void consumer.run({
            autoCommit: false,
            eachBatch: async ({ batch }) => {
              for (const m of batch.messages) {
                const last = left.get(batch.partition);
                if (last === undefined || BigInt(m.offset) > last) break;
                try {
                  const e = JSON.parse(m.value!.toString());
                  const le: LoggedEvent = { partition: batch.partition, offset: m.offset, eventId: e.eventId, type: e.type, occurredAt: e.occurredAt, payload: e.payload ?? {} };
                  if (keep(le)) out.push(le);
                } catch {
                  /* not an envelope: not ours to count */
                }
                if (BigInt(m.offset) >= last) left.delete(batch.partition);
              }
              if (!left.size) resolve();
            },
          });
        }),
        new Promise<void>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`reading ${topic}: not to its end within ${timeoutMs / 1000} s`)), timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
      await consumer.disconnect().catch(() => undefined);
      const admin = this.kafka.admin();
      await admin
        .connect()
        .then(() => admin.deleteGroups([groupId]))
        .catch(() => undefined)
        .finally(() => admin.disconnect().catch(() => undefined));
    }
    return out;
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}

/** Polls `probe` until it returns a value (not undefined), at most `timeoutMs`. */
export async function until<T>(what: string, timeoutMs: number, everyMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (let i = 0; i < timeoutMs / Math.max(everyMs, 1) + 100; i++) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
      lastError = undefined;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() > deadline) break;
    await sleep(everyMs);
  }
  throw new Error(`${what}: not within ${Math.round(timeoutMs / 1000)} s${lastError ? ` (last error: ${(lastError as Error).message})` : ''}`);
}
