/** Thrown by handlers for failures that will pass by themselves: retried forever, never dead-lettered. */
export class TransientError extends Error {}

const TRANSIENT_CODES = /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN|57P0[1-3]|08\d{3}|53\d{3}|40001|40P01)$/;

export function isTransient(err: unknown): boolean {
  if (err instanceof TransientError) return true;
  const e = err as { code?: unknown; name?: unknown; message?: unknown; cause?: unknown } | null;
  if (!e) return false;
  if (typeof e.code === 'string' && TRANSIENT_CODES.test(e.code)) return true;
  if (typeof e.name === 'string' && e.name.startsWith('KafkaJS')) return true;
  const msg = typeof e.message === 'string' ? e.message : '';
  if (/Connection terminated|connection error|ECONNREFUSED|ECONNRESET|the database system is (starting up|shutting down)|timeout exceeded when trying to connect|Connection ended/i.test(msg)) return true;
  return e.cause !== undefined && e.cause !== err ? isTransient(e.cause) : false;
}
