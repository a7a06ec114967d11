import { createHmac } from 'node:crypto';
import { retryDelayMs, shouldDisableWebhook } from './webhook-retry.js';
import { signWebhookBody, verifyWebhookSignature } from './webhook-signature.js';
import { webhookUrlProblem, webhookWants } from './webhook-target.js';

describe('webhook signatures', () => {
  const secret = 'whsec_0123456789abcdef';
  const body = '{"deliveryId":"d1","webhookId":"w1","projectId":"p1","changes":[]}';

  it('signs the raw body as sha256=<hex HMAC>, the same as any HMAC library computes', () => {
    expect(signWebhookBody(secret, body)).toBe(`sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`);
    expect(signWebhookBody(secret, Buffer.from(body))).toBe(signWebhookBody(secret, body));
  });

  it('verifies its own signature, and nothing else', () => {
    const sig = signWebhookBody(secret, body);
    expect(verifyWebhookSignature(secret, body, sig)).toBe(true);
    expect(verifyWebhookSignature(secret, body + ' ', sig)).toBe(false); // one byte more
    expect(verifyWebhookSignature('whsec_another-secret-x', body, sig)).toBe(false);
    expect(verifyWebhookSignature(secret, body, sig.replace(/.$/, (c) => (c === '0' ? '1' : '0')))).toBe(false);
    expect(verifyWebhookSignature(secret, body, sig.slice(0, -2))).toBe(false); // truncated: no throw
    expect(verifyWebhookSignature(secret, body, undefined)).toBe(false);
    expect(verifyWebhookSignature(secret, body, '')).toBe(false);
  });

  it('is sensitive to non-ASCII bytes exactly as sent (UTF-8)', () => {
    const b = '{"rule":"état → fermé"}';
    expect(verifyWebhookSignature(secret, Buffer.from(b, 'utf8'), signWebhookBody(secret, b))).toBe(true);
    expect(verifyWebhookSignature(secret, Buffer.from(b, 'latin1'), signWebhookBody(secret, b))).toBe(false);
  });
});

describe('webhook retry schedule', () => {
  const policy = { baseMs: 1000, maxMs: 300000 };

  it('doubles from the base after each failed attempt and stops at the cap', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((n) => retryDelayMs(n, policy))).toEqual([1000, 2000, 4000, 8000, 16000, 32000, 64000, 128000, 256000, 300000]);
    expect(retryDelayMs(1000, policy)).toBe(300000);
    expect(retryDelayMs(0, policy)).toBe(0);
  });

  it('a cap below the base wins', () => {
    expect(retryDelayMs(1, { baseMs: 500, maxMs: 100 })).toBe(100);
  });

  it('disables at the configured number of consecutive failures, not before', () => {
    expect(shouldDisableWebhook(9, 10)).toBe(false);
    expect(shouldDisableWebhook(10, 10)).toBe(true);
    expect(shouldDisableWebhook(11, 10)).toBe(true);
  });
});

describe('webhook targets and filters', () => {
  it('accepts http and https URLs, loopback and names included', () => {
    for (const u of ['https://hooks.example.com/x?y=1', 'http://127.0.0.1:8080/hook', 'http://receiver:9000', 'https://[2001:db8::1]/h']) expect(webhookUrlProblem(u)).toBeNull();
  });

  it('refuses other schemes, credentials in the URL, fragments and non-URLs', () => {
    expect(webhookUrlProblem('ftp://example.com/x')).toMatch(/http or https/);
    expect(webhookUrlProblem('file:///etc/passwd')).toMatch(/http or https/);
    expect(webhookUrlProblem('https://user:pw@example.com/')).toMatch(/user name or password/);
    expect(webhookUrlProblem('https://example.com/#x')).toMatch(/fragment/);
    expect(webhookUrlProblem('example.com/hook')).toMatch(/not a valid/);
    expect(webhookUrlProblem(`https://example.com/${'a'.repeat(3000)}`)).toMatch(/longer than/);
  });

  it('passes every change without a filter, and only the named fields with one', () => {
    expect(webhookWants(null, 'script')).toBe(true);
    expect(webhookWants(['state', 'host'], 'state')).toBe(true);
    expect(webhookWants(['state', 'host'], 'service.version')).toBe(false);
  });
});
