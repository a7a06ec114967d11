import { inspect } from 'node:util';
import type { Kafka } from 'kafkajs';
import { Topics, type Envelope } from '#events';
import { createKafka, ensureTopics, EventConsumer, EventPublisher, KafkaEnv, loadConfig, MemoryAttemptStore, topicOptions } from '#platform';
import { eventually, quietLogger, testPrefix } from '../support/stack.js';
import { projectCreated } from '../support/events.js';
import { startSecureBroker, type SecureBroker } from '../support/secure-kafka.js';

// The platform's Kafka port against a broker that only speaks SASL_SSL with SCRAM-SHA-512 (a CA
// and certificate made for this test), configured the way an app is: through KAFKA_* variables.
describe('Kafka over TLS with SASL/SCRAM', () => {
  let broker: SecureBroker;
  const prefix = testPrefix();

  beforeAll(async () => {
    broker = await startSecureBroker();
  }, 240_000);
  afterAll(() => broker?.stop());

  /** Rejects with the error, or with "hung" if the client neither connects nor fails within a minute. */
  async function failureOf(kafka: Kafka): Promise<Error> {
    const hung = new Promise<Error>((r) => setTimeout(() => r(new Error('hung')), 60_000).unref());
    return Promise.race([ensureTopics(kafka, { prefix }).then(() => new Error('connected')), hung]).catch((e: Error) => e);
  }

  it('creates topics, publishes and consumes a round trip with the settings an app reads', async () => {
    const env = loadConfig(KafkaEnv, broker.env(prefix));
    const kafka = createKafka(env, 'sasl-ssl-test');
    await ensureTopics(kafka, topicOptions(env));
    const publisher = new EventPublisher(kafka, prefix);
    const sent: Envelope[] = Array.from({ length: 20 }, (_, i) => projectCreated(`tls-${i}`));
    await publisher.publish(sent);

    const seen = new Set<string>();
    const consumer = new EventConsumer(kafka, {
      groupId: `${prefix}tls-reader`,
      topics: [prefix + Topics.projects.name],
      handler: async (batch) => {
        for (const e of batch) if (e.event) seen.add(e.event.eventId);
      },
      attempts: new MemoryAttemptStore(),
      maxAttempts: 3,
      deadLetterTopic: prefix + Topics.deadLetters.name,
      publisher,
      logger: quietLogger(),
    });
    await consumer.start();
    try {
      await eventually(async () => seen.size, (n) => n === sent.length, 60_000);
    } finally {
      await consumer.stop();
      await publisher.disconnect();
    }
    expect(seen).toEqual(new Set(sent.map((e) => e.eventId)));
  });

  it('a wrong password is a clear, prompt error that does not carry either password', async () => {
    const wrong = 'not-the-password-0123456789';
    const env = loadConfig(KafkaEnv, { ...broker.env(prefix), KAFKA_SASL_PASSWORD: wrong });
    const err = await failureOf(createKafka(env, 'sasl-ssl-wrong'));
    expect(err.message).toMatch(/SASL SCRAM SHA512 authentication failed/);
    const everything = `${err.message}\n${err.stack}\n${inspect(err, { depth: 10 })}\n${JSON.stringify(err)}`;
    expect(everything).not.toContain(wrong);
    expect(everything).not.toContain(broker.password);
  });

  it('an unknown user is refused the same way', async () => {
    const env = loadConfig(KafkaEnv, { ...broker.env(prefix), KAFKA_SASL_USERNAME: 'nobody' });
    expect((await failureOf(createKafka(env, 'sasl-ssl-nobody'))).message).toMatch(/SASL SCRAM SHA512 authentication failed/);
  });

  it('without the CA the broker certificate is refused, and TLS without SASL is refused too', async () => {
    const noCa = loadConfig(KafkaEnv, { ...broker.env(prefix), KAFKA_SSL_CA_FILE: undefined });
    expect((await failureOf(createKafka(noCa, 'sasl-ssl-no-ca'))).message).toMatch(/certificate/i);
    const noSasl = loadConfig(KafkaEnv, { ...broker.env(prefix), KAFKA_SASL_MECHANISM: 'none' });
    expect((await failureOf(createKafka(noSasl, 'sasl-ssl-no-sasl'))).message).not.toMatch(/^(connected|hung)$/);
  });
});
