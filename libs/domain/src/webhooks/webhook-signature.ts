import { createHmac, timingSafeEqual } from 'node:crypto';

/** Header names of a webhook delivery; receivers read these. */
export const WEBHOOK_HEADERS = {
  signature: 'x-falcoria-signature',
  delivery: 'x-falcoria-delivery',
  timestamp: 'x-falcoria-timestamp',
} as const;

/**
 * `sha256=<hex>` of the exact bytes sent, keyed with the secret as UTF-8. Signing the raw body (not
 * a re-serialisation) is what lets any receiver verify before parsing.
 */
export function signWebhookBody(secret: string, rawBody: string | Uint8Array): string {
  return `sha256=${createHmac('sha256', secret).update(rawBody).digest('hex')}`;
}

/** Constant-time comparison, so the check leaks nothing about how much of a forged signature was right. */
export function verifyWebhookSignature(secret: string, rawBody: string | Uint8Array, header: string | null | undefined): boolean {
  if (typeof header !== 'string') return false;
  const expected = Buffer.from(signWebhookBody(secret, rawBody));
  const given = Buffer.from(header.trim());
  return given.length === expected.length && timingSafeEqual(given, expected);
}
