export interface BackoffPolicy {
  /** Delay after the first failed attempt. */
  readonly baseMs: number;
  /** No delay exceeds this, however many attempts failed. */
  readonly maxMs: number;
}

/**
 * Delay before the next attempt once `failedAttempts` attempts of a delivery have failed:
 * base, 2·base, 4·base, … capped. Deterministic (no jitter): receivers are few per ledger and a
 * schedule that can be read off the delivery log is worth more than spreading retries.
 */
export function retryDelayMs(failedAttempts: number, policy: BackoffPolicy): number {
  if (failedAttempts < 1) return 0;
  // 2^30 already exceeds any sane cap; stopping there keeps the arithmetic exact.
  const factor = 2 ** Math.min(failedAttempts - 1, 30);
  return Math.min(policy.maxMs, policy.baseMs * factor);
}

/** After this many consecutive failures the webhook is disabled; an owner re-enables it. */
export const shouldDisableWebhook = (consecutiveFailures: number, maxFailures: number): boolean => consecutiveFailures >= maxFailures;
