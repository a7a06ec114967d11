import type { Kafka } from 'kafkajs';
import { Topics, type FleetControlEvent } from '#events';
import type { JsonLogger } from '../logging/json-logger.js';
import { startViewConsumer, type ViewConsumer } from './view-consumer.js';

/**
 * Reads the fleet-control topic (the emergency stop) in full, from offset zero, under a group of
 * its own that never commits, and hands every event to `apply` in log order. `start` returns once
 * what the topic held at start has been applied, so a worker never takes a task before it knows
 * whether the fleet is stopped. The topic holds only stops and releases: reading it all is cheap,
 * and a stop can never fall out of a look-back window.
 */
export class FleetControlReader {
  private view?: ViewConsumer;

  constructor(
    private readonly kafka: Kafka,
    private readonly prefix: string,
    private readonly groupId: string,
    private readonly apply: (e: FleetControlEvent) => void,
    private readonly logger: JsonLogger,
  ) {}

  private get topic(): string {
    return this.prefix + Topics.fleetControl.name;
  }

  async start(timeoutMs = 60000): Promise<void> {
    // Small fetch waits: an emergency stop must reach every worker within a second.
    this.view = await startViewConsumer({
      kafka: this.kafka,
      groupId: this.groupId,
      topic: this.topic,
      from: 'beginning',
      apply: (e) => this.apply(e as FleetControlEvent),
      logger: this.logger,
      skipped: 'fleet-control message skipped',
      maxWaitTimeInMs: 100,
    });
    if (!(await this.view.caughtUp(timeoutMs))) throw new Error(`${this.topic} did not catch up within ${timeoutMs / 1000} s`);
  }

  async stop(): Promise<void> {
    await this.view?.stop();
  }
}
