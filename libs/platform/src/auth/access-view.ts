import { hostname } from 'node:os';
import type { Consumer, Kafka } from 'kafkajs';
import { decodeEnvelope, eventCatalogue, Topics, type Actor, type Envelope, type IdentityEvent, type ProjectEvent, type ProjectRole } from '#events';
import { evolveIdentity, initialIdentityState, type IdentityState } from '#domain';
import type { JsonLogger } from '../logging/json-logger.js';
import { fetchEndOffsets, whileTopicsSettle } from '../kafka/offsets.js';
import { superviseConsumer, type ConsumerSupervisor } from '../kafka/consumer-supervisor.js';

export interface WebhookRecord {
  readonly webhookId: string;
  readonly url: string;
  readonly events: readonly string[] | null;
  readonly status: 'active' | 'disabled';
  readonly createdAt: string;
  readonly createdBy: Actor;
  /** When the status last changed, and why when the ledger disabled it. */
  readonly statusChangedAt: string;
  readonly disabledReason: string | null;
}

export interface ProjectRecord {
  readonly projectId: string;
  readonly name: string;
  readonly comment: string | null;
  readonly ownerId: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly members: ReadonlyMap<string, ProjectRole>;
  readonly allow: readonly string[];
  readonly deny: readonly string[];
  readonly webhooks: ReadonlyMap<string, WebhookRecord>;
}

/**
 * Every process that answers HTTP keeps identity and project membership in memory, folded from the
 * identity and projects topics (small streams). Each instance reads both topics in full under its
 * own consumer group and never commits, so a restart always rebuilds from the log.
 */
export class AccessView {
  private identityState: IdentityState = initialIdentityState();
  private readonly projectsById = new Map<string, ProjectRecord>();
  private readonly applied = new Map<string, bigint>(); // `${topic}|${partition}` → last offset
  private readonly seen = new Set<string>(); // recent event ids, for read-your-writes
  private readonly waiters = new Set<() => void>();
  private consumer?: Consumer;
  private supervisor?: ConsumerSupervisor;
  /** Groups this view has used: a reconnect takes a fresh one (see kick). */
  private readonly groups: string[] = [];
  private stopped = false;
  private restarting?: Promise<void>;
  private lastKick = 0;
  readonly groupId: string;

  constructor(
    private readonly kafka: Kafka,
    private readonly prefix: string,
    service: string,
    private readonly logger: JsonLogger,
  ) {
    this.groupId = `${prefix}falcoria.${service}.access-view.${hostname()}-${process.pid}`;
  }

  get identity(): IdentityState {
    return this.identityState;
  }

  project(projectId: string): ProjectRecord | undefined {
    return this.projectsById.get(projectId);
  }

  projects(): readonly ProjectRecord[] {
    return [...this.projectsById.values()];
  }

  projectByName(name: string): ProjectRecord | undefined {
    for (const p of this.projectsById.values()) if (p.name === name) return p;
    return undefined;
  }

  roleOf(projectId: string, userId: string): ProjectRole | null {
    return this.projectsById.get(projectId)?.members.get(userId) ?? null;
  }

  private get topics(): string[] {
    return [this.prefix + Topics.identity.name, this.prefix + Topics.projects.name];
  }

  async start(): Promise<void> {
    await this.open();
    await this.catchUp(60000);
  }

  /** A consumer for both topics under a group of its own; nothing is committed: it resumes after what this view has applied. */
  private async open(): Promise<void> {
    const groupId = this.groups.length === 0 ? this.groupId : `${this.groupId}.${this.groups.length}`;
    this.groups.push(groupId);
    const consumer = this.kafka.consumer({ groupId, allowAutoTopicCreation: false, sessionTimeout: 30000 });
    try {
      await consumer.connect();
      await whileTopicsSettle(() => consumer.subscribe({ topics: this.topics, fromBeginning: true }));
    } catch (e) {
      await consumer.disconnect().catch(() => undefined);
      throw e;
    }
    const run = () =>
      consumer.run({
        autoCommit: false,
        eachMessage: async ({ topic, partition, message }) => {
          // A new or restarted consumer fetches from the start until its seek lands, and a replaced
          // one may still deliver: never apply a record twice.
          const last = this.applied.get(`${topic}|${partition}`);
          if (last !== undefined && BigInt(message.offset) <= last) return;
          try {
            this.apply(eventCatalogue.read(decodeEnvelope(message.value)));
          } catch (e) {
            // The ledger projector dead-letters the same record; here it is only skipped, loudly.
            this.logger.warn({ msg: 'access view skipped an unreadable event', topic, partition, offset: message.offset, error: (e as Error).message });
          }
          this.applied.set(`${topic}|${partition}`, BigInt(message.offset));
          for (const w of this.waiters) w();
        },
      });
    const seekApplied = () => {
      for (const [k, off] of this.applied) {
        const i = k.lastIndexOf('|');
        consumer.seek({ topic: k.slice(0, i), partition: Number(k.slice(i + 1)), offset: String(off + 1n) });
      }
    };
    this.consumer = consumer;
    this.supervisor = superviseConsumer(consumer, () => consumer.connect().then(run).then(seekApplied), this.logger, groupId);
    await run();
    seekApplied();
  }

  /**
   * The view did not reach the log's end in time. After a broker restart its consumer was seen alive
   * but fetching nothing for minutes (no crash to react to), and every command waiting on the view
   * failed meanwhile (fault suite, broker-import). Reconnecting that same consumer raced kafkajs's own
   * restarts of it and could leave it half-initialised ("coordinator is not aware of this member"
   * for minutes), so the view replaces it with a new consumer in a fresh group, at most every 10 s.
   */
  private kick(): void {
    if (!this.consumer || this.stopped || this.restarting || Date.now() - this.lastKick < 10000) return;
    this.lastKick = Date.now();
    this.logger.warn({ msg: 'access view is not catching up with the log; replacing its consumer', group: this.groups[this.groups.length - 1] });
    const old = this.consumer;
    this.supervisor?.stop();
    void old.disconnect().catch(() => undefined);
    this.restarting = this.open()
      .catch((e: Error) => this.logger.warn({ msg: 'replacing the access view consumer failed; the next timeout tries again', error: e.message }))
      .finally(() => (this.restarting = undefined));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.restarting;
    this.supervisor?.stop();
    await this.consumer?.disconnect();
    const admin = this.kafka.admin();
    await admin.connect().then(() => admin.deleteGroups([...this.groups])).catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
  }

  /** Resolves once everything written to both topics before the call has been applied here. */
  async catchUp(timeoutMs = 15000): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    const targets: [string, bigint][] = [];
    try {
      for (const t of this.topics) for (const p of await fetchEndOffsets(admin, t)) if (p.high > 0n) targets.push([`${t}|${p.partition}`, p.high - 1n]);
    } finally {
      await admin.disconnect();
    }
    await this.until(() => targets.every(([k, off]) => (this.applied.get(k) ?? -1n) >= off), timeoutMs, 'access view did not catch up with the log');
  }

  /** Resolves once these events have been applied here (read-your-writes after a publish). */
  waitForEvents(eventIds: readonly string[], timeoutMs = 30000): Promise<void> {
    return this.until(() => eventIds.every((id) => this.seen.has(id)), timeoutMs, 'events not applied in time');
  }

  private until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
    if (cond()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (cond()) {
          clearTimeout(timer);
          clearTimeout(nudge);
          this.waiters.delete(check);
          resolve();
        }
      };
      // A wait this long is a stalled consumer, not a slow one (after a broker restart, its group waits
      // out the old member's session: 30 s and more). Replacing it early lets the waiting command
      // succeed, instead of failing after its event was written (a retry then met "name exists").
      const nudge = setTimeout(() => this.kick(), Math.min(5000, timeoutMs / 2));
      const timer = setTimeout(() => {
        clearTimeout(nudge);
        this.waiters.delete(check);
        this.kick();
        reject(new Error(what));
      }, timeoutMs);
      this.waiters.add(check);
    });
  }

  apply(env: Envelope): void {
    this.seen.add(env.eventId);
    if (this.seen.size > 10000) this.seen.delete(this.seen.values().next().value as string);
    const def = eventCatalogue.get(env.type);
    if (def?.topic === Topics.identity.name) {
      this.identityState = evolveIdentity(this.identityState, env as IdentityEvent);
      return;
    }
    const e = env as ProjectEvent;
    const at = e.occurredAt;
    switch (e.type) {
      case 'ProjectCreated':
        this.projectsById.set(e.payload.projectId, {
          projectId: e.payload.projectId, name: e.payload.name, comment: e.payload.comment, ownerId: e.payload.ownerId,
          createdAt: at, updatedAt: at, members: new Map([[e.payload.ownerId, 'owner']]), allow: [], deny: [], webhooks: new Map(),
        });
        return;
      case 'ProjectDeleted':
        this.projectsById.delete(e.payload.projectId);
        return;
      // Webhooks are the project's plumbing, not its content: they leave updatedAt alone.
      case 'WebhookRegistered':
      case 'WebhookRemoved':
      case 'WebhookEnabled':
      case 'WebhookDisabled': {
        const p = this.projectsById.get(e.payload.projectId);
        if (!p) return;
        const hooks = new Map(p.webhooks);
        const w = hooks.get(e.payload.webhookId);
        if (e.type === 'WebhookRegistered')
          hooks.set(e.payload.webhookId, { webhookId: e.payload.webhookId, url: e.payload.url, events: e.payload.events, status: 'active', createdAt: at, createdBy: e.actor, statusChangedAt: at, disabledReason: null });
        else if (e.type === 'WebhookRemoved') hooks.delete(e.payload.webhookId);
        else if (w && e.type === 'WebhookEnabled') hooks.set(w.webhookId, { ...w, status: 'active', statusChangedAt: at, disabledReason: null });
        else if (w && e.type === 'WebhookDisabled') hooks.set(w.webhookId, { ...w, status: 'disabled', statusChangedAt: at, disabledReason: e.payload.reason });
        this.projectsById.set(p.projectId, { ...p, webhooks: hooks });
        return;
      }
      default: {
        const p = this.projectsById.get(e.payload.projectId);
        if (!p) return;
        const members = new Map(p.members);
        let next: ProjectRecord = { ...p, updatedAt: at };
        if (e.type === 'ProjectUpdated') next = { ...next, name: e.payload.name ?? p.name, comment: e.payload.comment !== undefined ? e.payload.comment : p.comment };
        if (e.type === 'MemberAdded') members.set(e.payload.userId, e.payload.role);
        if (e.type === 'MemberRoleChanged') members.set(e.payload.userId, e.payload.to);
        if (e.type === 'MemberRemoved') members.delete(e.payload.userId);
        if (e.type === 'ProjectScopeSet') next = { ...next, allow: e.payload.allow, deny: e.payload.deny };
        this.projectsById.set(p.projectId, { ...next, members });
      }
    }
  }
}
