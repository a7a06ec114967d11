import { randomBytes } from 'node:crypto';
import { MikroORM } from '@mikro-orm/postgresql';
import type { Kafka } from 'kafkajs';
import { createKafka, createOrm, ensureTopics, EventPublisher, JsonLogger, KafkaEnv } from '#platform';

/** Each test file gets its own topic prefix and database, so files never see each other's events or rows. */
export function testPrefix(): string {
  return `t${randomBytes(4).toString('hex')}.`;
}

export function kafkaEnv(prefix: string): KafkaEnv {
  const env = new KafkaEnv();
  env.KAFKA_BROKERS = process.env.KAFKA_BROKERS!;
  env.KAFKA_TOPIC_PREFIX = prefix;
  return env;
}

export const quietLogger = (lines: string[] = []) => new JsonLogger('test', 'warn', (l) => lines.push(l));

export async function testKafka(prefix: string): Promise<{ kafka: Kafka; publisher: EventPublisher }> {
  const kafka = createKafka(kafkaEnv(prefix), `test-${prefix}`);
  await ensureTopics(kafka, { prefix });
  const publisher = new EventPublisher(kafka, prefix);
  await publisher.connect();
  return { kafka, publisher };
}

/** Creates a fresh database on the test server and returns its URL. */
export async function createTestDatabase(): Promise<string> {
  const base = process.env.DATABASE_URL!;
  const name = `t_${randomBytes(5).toString('hex')}`;
  const admin = await MikroORM.init({ clientUrl: base.replace(/\/[^/?]+(\?.*)?$/, '/postgres'), entities: [], discovery: { warnWhenNoEntities: false } });
  await admin.em.fork().execute(`create database ${name}`);
  await admin.close();
  return base.replace(/\/[^/?]+(\?.*)?$/, `/${name}`);
}

export async function testOrm(): Promise<{ orm: MikroORM; url: string }> {
  const url = await createTestDatabase();
  return { orm: await createOrm(url, 5), url };
}

export async function eventually<T>(fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 30000): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: T = await fn();
  while (!ok(last)) {
    if (Date.now() > until) throw new Error(`condition not met within ${timeoutMs} ms; last value: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 100));
    last = await fn();
  }
  return last;
}
