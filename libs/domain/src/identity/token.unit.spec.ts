import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { TOKEN_HASH_PATTERN, TOKEN_ID_PATTERN } from '#events';
import { constantTimeEqual, displayToken, hashToken, newTokenSecret, OneTimeToken, parseToken, TOKEN_RANDOM_BYTES } from './token.js';

const bytes = (fill: (i: number) => number) => new Uint8Array(TOKEN_RANDOM_BYTES).map((_, i) => fill(i));

describe('newTokenSecret', () => {
  it('encodes 10 id bytes and 32 secret bytes as lowercase base32 (RFC 4648 vectors)', () => {
    // base32("foobarbaz!") = MZXW6YTBOJRGC6RB; base32 of 32 bytes 0x00..0x1f checked against Python's base64.b32encode.
    const b = new Uint8Array(TOKEN_RANDOM_BYTES);
    b.set(new TextEncoder().encode('foobarbaz!'), 0);
    b.set(Uint8Array.from({ length: 32 }, (_, i) => i), 10);
    expect(newTokenSecret(b)).toBe('fal_mzxw6ytbojrgc6rb_aaaqeayeaudaocajbifqydiob4ibceqtcqkrmfyydenbwha5dypq');
  });

  it('uses every bit: all-zero and all-one inputs give the alphabet ends', () => {
    expect(newTokenSecret(bytes(() => 0))).toBe(`fal_${'a'.repeat(16)}_${'a'.repeat(52)}`);
    expect(newTokenSecret(bytes(() => 0xff))).toBe(`fal_${'7'.repeat(16)}_${'7'.repeat(51)}q`);
  });

  it('produces ids the event schema accepts', () => {
    const t = newTokenSecret(randomBytes(TOKEN_RANDOM_BYTES));
    expect(parseToken(t)!.tokenId).toMatch(TOKEN_ID_PATTERN);
    expect(hashToken(t)).toMatch(TOKEN_HASH_PATTERN);
  });

  it('is longer than the 64 characters a username or label may hold, so neither can carry one', () => {
    expect(newTokenSecret(randomBytes(TOKEN_RANDOM_BYTES))).toHaveLength(73);
  });

  it.each([0, 41, 43])('refuses %i random bytes: a short input would weaken the secret', (n) => {
    expect(() => newTokenSecret(new Uint8Array(n))).toThrow(RangeError);
  });
});

describe('hashToken', () => {
  it('is sha256 hex of the UTF-8 string', () => {
    expect(hashToken('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});

describe('parseToken', () => {
  const good = newTokenSecret(bytes((i) => i * 7));

  it('splits a well-formed token into id and secret', () => {
    const [, id, secret] = good.split('_');
    expect(parseToken(good)).toEqual({ tokenId: id, secret });
  });

  it.each([
    ['empty', ''],
    ['bearer-prefixed', `Bearer ${good}`],
    ['padded', ` ${good}`],
    ['upper case', good.toUpperCase()],
    ['a wrong prefix', good.replace(/^fal_/, 'fak_')],
    ['a short id', good.replace(/^fal_./, 'fal_')],
    ['a long secret', `${good}a`],
    ['a character outside base32', good.slice(0, -1) + '1'],
    ['a third part', `${good}_x`],
  ])('refuses a token that is %s', (_why, value) => {
    expect(parseToken(value)).toBeNull();
  });
});

describe('constantTimeEqual', () => {
  it('compares by value, and different lengths are simply unequal', () => {
    expect(constantTimeEqual(hashToken('a'), hashToken('a'))).toBe(true);
    expect(constantTimeEqual(hashToken('a'), hashToken('b'))).toBe(false);
    expect(constantTimeEqual('abc', 'abcd')).toBe(false);
    expect(constantTimeEqual('', '')).toBe(true);
  });
});

describe('OneTimeToken', () => {
  const plain = newTokenSecret(bytes((i) => 255 - i));
  const { tokenId, secret } = parseToken(plain)!;

  it('reveals the plaintext only on request', () => {
    expect(new OneTimeToken(plain).reveal()).toBe(plain);
    expect(new OneTimeToken(plain).tokenId).toBe(tokenId);
  });

  it.each([
    ['JSON', (t: OneTimeToken) => JSON.stringify({ result: t })],
    ['string interpolation', (t: OneTimeToken) => `${t}`],
    ['util.inspect', (t: OneTimeToken) => inspect({ result: t }, { depth: 5, showHidden: true })],
    ['an error message', (t: OneTimeToken) => new Error(`failed with ${t}`).message],
  ])('prints only the display form through %s', (_how, show) => {
    const out = show(new OneTimeToken(plain));
    expect(out).not.toContain(secret);
    expect(out).toContain(displayToken(tokenId));
  });

  it('refuses something that is not a token', () => {
    expect(() => new OneTimeToken('hunter2')).toThrow(TypeError);
    // The refusal must not echo what it was given.
    expect(() => new OneTimeToken('hunter2')).not.toThrow(/hunter2/);
  });
});
