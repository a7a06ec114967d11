import type { ChangeField } from '../ledger/host-state.js';

/** Every field a ledger change row can carry; the values a webhook's `events` filter may name. */
export const CHANGE_FIELDS: readonly ChangeField[] = [
  'host', 'state', 'hostname', 'service.name', 'service.product', 'service.version', 'service.extrainfo', 'service.tunnel', 'cpes', 'script',
];

export const MAX_WEBHOOK_URL_LENGTH = 2048;

/**
 * Why a URL cannot be a webhook target, or null when it can. Credentials in the URL are refused:
 * the URL travels in events and shows in listings, and the signature is the credential.
 */
export function webhookUrlProblem(value: string): string | null {
  if (value.length > MAX_WEBHOOK_URL_LENGTH) return `url is longer than ${MAX_WEBHOOK_URL_LENGTH} characters`;
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    return 'url is not a valid absolute URL';
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return 'url must use http or https';
  if (u.username || u.password) return 'url must not carry a user name or password (the signature authenticates deliveries)';
  if (!u.hostname) return 'url has no host';
  if (u.hash) return 'url must not have a #fragment';
  return null;
}

/** Whether a change passes a webhook's filter (null: everything passes). */
export const webhookWants = (events: readonly string[] | null, field: string): boolean => events === null || events.includes(field);
