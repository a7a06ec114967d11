import { Controller, Get, HttpException, HttpStatus, Inject, Module, type DynamicModule, type OnApplicationShutdown, type Provider } from '@nestjs/common';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Kafka } from 'kafkajs';
import type { DatabaseEnv, KafkaEnv } from './config/common.config.js';
import { loadConfig } from './config/env.js';
import { createOrm } from './db/database.js';
import { PgAttemptStore } from './db/pg-attempt-store.js';
import { createKafka } from './kafka/kafka-client.js';
import { EventPublisher } from './kafka/event-publisher.js';
import { ensureTopics, topicOptions } from './kafka/topic-admin.js';
import { JsonLogger } from './logging/json-logger.js';
import { APP_GUARD } from '@nestjs/core';
import { Public } from './auth/access.decorator.js';
import { AccessView } from './auth/access-view.js';
import { ACCESS_VIEW, AUTH_CONFIG, AUTH_LOGGER, AuthGuard } from './auth/auth.guard.js';

export const CONFIG = Symbol('CONFIG');
export const LOGGER = Symbol('LOGGER');
export const KAFKA = Symbol('KAFKA');
export const ORM = Symbol('ORM');
export const PUBLISHER = Symbol('PUBLISHER');
export const ATTEMPTS = Symbol('ATTEMPTS');

export interface InfraOptions<E extends KafkaEnv> {
  readonly service: string;
  readonly env: new () => E;
  /** Processes without a database (the worker) leave this false. */
  readonly database: boolean;
  /** HTTP apps that authenticate callers keep identity and memberships in memory. */
  readonly accessView: boolean;
}

/** Readiness means the process can do its job: Kafka answers a metadata request and PostgreSQL a query. */
export async function checkReadiness(kafka: Kafka, orm: MikroORM | null): Promise<Record<string, 'up' | string>> {
  const out: Record<string, string> = {};
  const admin = kafka.admin();
  try {
    await admin.connect();
    await admin.describeCluster();
    out.kafka = 'up';
  } catch (e) {
    out.kafka = `down: ${(e as Error).message}`;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
  if (orm) {
    try {
      await orm.em.fork().execute('select 1');
      out.postgres = 'up';
    } catch (e) {
      out.postgres = `down: ${(e as Error).message}`;
    }
  }
  return out;
}

@Controller()
export class HealthController {
  constructor(
    @Inject(KAFKA) private readonly kafka: Kafka,
    @Inject(ORM) private readonly orm: MikroORM | null,
  ) {}

  @Public()
  @Get('health')
  health() {
    return { status: 'ok' };
  }

  @Public()
  @Get('ready')
  async ready() {
    const checks = await checkReadiness(this.kafka, this.orm);
    const ok = Object.values(checks).every((v) => v === 'up');
    if (!ok) throw new HttpException({ status: 'unavailable', checks }, HttpStatus.SERVICE_UNAVAILABLE);
    return { status: 'ready', checks };
  }
}

class Closer implements OnApplicationShutdown {
  constructor(
    private readonly publisher: EventPublisher,
    private readonly orm: MikroORM | null,
    private readonly view: AccessView | null,
  ) {}
  async onApplicationShutdown(): Promise<void> {
    await this.view?.stop().catch(() => undefined);
    await this.publisher.disconnect().catch(() => undefined);
    await this.orm?.close().catch(() => undefined);
  }
}

@Module({})
export class InfraModule {
  static forRoot<E extends KafkaEnv>(opts: InfraOptions<E>): DynamicModule {
    const config = loadConfig(opts.env);
    const logger = new JsonLogger(opts.service, config.LOG_LEVEL);
    const providers: Provider[] = [
      { provide: CONFIG, useValue: config },
      { provide: LOGGER, useValue: logger },
      { provide: KAFKA, useFactory: () => createKafka(config, `falcoria-${opts.service}`, logger) },
      {
        provide: PUBLISHER,
        inject: [KAFKA],
        useFactory: async (kafka: Kafka) => {
          await ensureTopics(kafka, topicOptions(config));
          const p = new EventPublisher(kafka, config.KAFKA_TOPIC_PREFIX);
          await p.connect();
          return p;
        },
      },
      {
        provide: ORM,
        useFactory: async () => (opts.database ? createOrm((config as unknown as DatabaseEnv).DATABASE_URL, (config as unknown as DatabaseEnv).DATABASE_POOL_MAX) : null),
      },
      {
        provide: ATTEMPTS,
        inject: [ORM],
        useFactory: async (orm: MikroORM | null) => {
          if (!orm) return null;
          const s = new PgAttemptStore(orm);
          await s.init();
          return s;
        },
      },
      {
        provide: ACCESS_VIEW,
        inject: [KAFKA, PUBLISHER],
        useFactory: async (kafka: Kafka) => {
          if (!opts.accessView) return null;
          const v = new AccessView(kafka, config.KAFKA_TOPIC_PREFIX, opts.service, logger);
          await v.start();
          return v;
        },
      },
      { provide: AUTH_LOGGER, useValue: logger },
      { provide: AUTH_CONFIG, useValue: config },
      { provide: APP_GUARD, useClass: AuthGuard },
      { provide: Closer, inject: [PUBLISHER, ORM, ACCESS_VIEW], useFactory: (p: EventPublisher, o: MikroORM | null, v: AccessView | null) => new Closer(p, o, v) },
    ];
    return {
      module: InfraModule,
      global: true,
      controllers: [HealthController],
      providers,
      exports: [CONFIG, LOGGER, KAFKA, ORM, PUBLISHER, ATTEMPTS, ACCESS_VIEW],
    };
  }
}
