import kafkajs, { type Kafka } from 'kafkajs';
import { Topics, type Envelope } from '#events';
import { superviseConsumer, type EventPublisher } from '#platform';
import { eventually, quietLogger, testKafka, testPrefix } from '../support/stack.js';
import { projectCreated } from '../support/events.js';

// Regression test for a fault-suite finding (npm run chaos -- --scenario broker-scan): after a broker
// restart, a consumer crashed with "Failed to find group coordinator", which kafkajs treats as not
// retriable: it disconnected the consumer and never restarted it. The ledger's access view stopped
// that way, and every project command failed until the process was restarted. Here the crash is
// provoked the same way kafkajs reports it (a non-retriable error inside the consumer's run).
describe('a consumer kafkajs will not restart after a crash', () => {
  const prefix = testPrefix();
  const topic = prefix + Topics.projects.name;
  let kafka: Kafka;
  let publisher: EventPublisher;

  beforeAll(async () => {
    ({ kafka, publisher } = await testKafka(prefix));
  });
  afterAll(async () => {
    await publisher.disconnect();
  });

  it('is restarted by the supervisor and goes on from its commits: every event is handled', async () => {
    const events: Envelope[] = Array.from({ length: 20 }, (_, i) => projectCreated(`restart-${i}`));
    await publisher.publish(events.slice(0, 10));

    const consumer = kafka.consumer({ groupId: `${prefix}restart-test` });
    const crashes: boolean[] = [];
    consumer.on(consumer.events.CRASH, ({ payload }) => void crashes.push(payload.restart));
    const handled: string[] = [];
    let crashAt = 5;
    const run = () =>
      consumer.run({
        eachMessage: async ({ message }) => {
          if (handled.length === crashAt) {
            crashAt = -1;
            throw new kafkajs.KafkaJSNonRetriableError('Failed to find group coordinator (provoked)');
          }
          handled.push((JSON.parse(message.value!.toString()) as Envelope).eventId);
        },
      });
    const supervisor = superviseConsumer(consumer, () => consumer.connect().then(run), quietLogger(), 'restart-test');
    try {
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await run();
      // kafkajs itself gives up on this one: the crash is reported with restart: false.
      await eventually(async () => crashes.length, (n) => n >= 1, 30000);
      expect(crashes[0]).toBe(false);
      await publisher.publish(events.slice(10));
      await eventually(async () => handled.length, (n) => n >= 20, 60000);
      expect(new Set(handled)).toEqual(new Set(events.map((e) => e.eventId)));
    } finally {
      supervisor.stop();
      await consumer.disconnect();
    }
  }, 120_000);
});
