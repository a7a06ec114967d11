import type { Consumer } from 'kafkajs';
import type { JsonLogger } from '../logging/json-logger.js';

export interface ConsumerSupervisor {
  /** Call before disconnecting on purpose: no restart is attempted after that. */
  stop(): void;
}

/**
 * kafkajs restarts a crashed consumer only when the error is retriable. A non-retriable one leaves it
 * disconnected for good, silently: after a broker restart, "Failed to find group coordinator" (the
 * coordinator still loading its groups) stopped the ledger's access view, and every project command
 * then failed until the process was restarted (found by the fault suite, `npm run chaos --
 * --scenario broker-scan`). This restarts such a consumer with `restart` (connect and run again;
 * its subscriptions are kept), backing off from 1 s to 30 s, until `stop()`.
 */
export function superviseConsumer(consumer: Consumer, restart: () => Promise<void>, logger: JsonLogger, name: string): ConsumerSupervisor {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  // Crashes in a row (a restart that crashes again within a minute) lengthen the wait.
  let streak = 0;
  let lastCrash = 0;
  const attempt = () => {
    timer = undefined;
    if (stopped) return;
    // A run that fails to join crashes again and comes back here through the CRASH event.
    restart().catch((e: Error) => {
      logger.warn({ msg: 'restarting a crashed consumer failed; trying again', consumer: name, error: e.message });
      schedule();
    });
  };
  const schedule = () => {
    if (stopped || timer) return;
    const delay = Math.min(30000, 1000 * 2 ** Math.min(streak, 5));
    logger.warn({ msg: 'restarting a consumer kafkajs left stopped', consumer: name, inMs: delay });
    timer = setTimeout(attempt, delay);
    timer.unref();
  };
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (payload.restart || stopped) return;
    const now = Date.now();
    streak = now - lastCrash < 60000 ? streak + 1 : 0;
    lastCrash = now;
    logger.warn({ msg: 'consumer crashed and kafkajs will not restart it', consumer: name, error: payload.error?.message });
    schedule();
  });
  return {
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
    },
  };
}
