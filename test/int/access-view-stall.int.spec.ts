import { Topics } from '#events';
import { AccessView, type EventPublisher } from '#platform';
import { quietLogger, testKafka, testPrefix } from '../support/stack.js';
import { projectCreated } from '../support/events.js';
import type { Kafka } from 'kafkajs';

// Regression test for a fault-suite finding (npm run chaos -- --scenario broker-import): after a
// broker restart the ledger's access view kept a consumer that was alive but fetched nothing for
// minutes, without crashing, and every project command waiting on the view failed meanwhile (its
// event written, so the client's retry then met "name exists"). A paused consumer stands in for
// that stall here (the broker-side cause, a group waiting out its old member, is not reproducible on demand).
describe('the access view when its consumer stops making progress', () => {
  const prefix = testPrefix();
  let kafka: Kafka;
  let publisher: EventPublisher;
  let view: AccessView;

  beforeAll(async () => {
    ({ kafka, publisher } = await testKafka(prefix));
    view = new AccessView(kafka, prefix, 'stall-test', quietLogger());
    await view.start();
  }, 120_000);
  afterAll(async () => {
    await view?.stop();
    await publisher.disconnect();
  });

  it('replaces it while a catch-up waits, so the wait succeeds, and goes on from where it was without replaying the log', async () => {
    const first = projectCreated('before-the-stall');
    await publisher.publish([first]);
    await view.catchUp();
    expect(view.project(first.key)?.name).toBe('before-the-stall');
    const seen: string[] = [];
    const apply = view.apply.bind(view);
    view.apply = (e) => {
      seen.push(e.eventId);
      apply(e);
    };

    const consumer = (view as unknown as { consumer: import('kafkajs').Consumer }).consumer;
    consumer.pause([{ topic: prefix + Topics.projects.name }, { topic: prefix + Topics.identity.name }]);
    const second = projectCreated('after-the-stall');
    await publisher.publish([second]);
    // The wait itself replaces the stalled consumer (after 5 s), so the command waiting succeeds.
    await view.catchUp(30000);
    expect(view.project(second.key)?.name).toBe('after-the-stall');
    expect(seen).toEqual([second.eventId]);
    expect(view.project(first.key)?.name).toBe('before-the-stall');
  }, 120_000);
});
