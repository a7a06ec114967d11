import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Token format: `fal_<id>_<secret>`, both parts lowercase RFC 4648 base32 (no padding).
 * - the prefix lets secret scanners and humans recognise a Falcoria token;
 * - `<id>` (80 random bits) is public: it is the lookup key and what the UI shows, so a leaked
 *   read model or log line holding it grants nothing;
 * - `<secret>` (256 random bits) never leaves the one-time response. With that much entropy an
 *   unsalted sha256 is enough: salts and slow hashes defend guessable passwords, not random keys.
 * The alphabet has no `_`, so splitting is unambiguous. libs/events' TOKEN_ID_PATTERN must agree.
 */
export const TOKEN_PREFIX = 'fal';
export const TOKEN_ID_BYTES = 10;
export const TOKEN_SECRET_BYTES = 32;
export const TOKEN_RANDOM_BYTES = TOKEN_ID_BYTES + TOKEN_SECRET_BYTES;

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';
const TOKEN_RE = /^fal_([a-z2-7]{16})_([a-z2-7]{52})$/;

function base32(bytes: Uint8Array): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
    }
    buffer &= (1 << bits) - 1;
  }
  if (bits > 0) out += ALPHABET[(buffer << (5 - bits)) & 31];
  return out;
}

/** Builds a token from exactly TOKEN_RANDOM_BYTES random bytes (the caller owns the randomness). */
export function newTokenSecret(randomBytes: Uint8Array): string {
  // Fewer bytes would silently weaken the secret, so this is a programming error, not a value.
  if (randomBytes.length !== TOKEN_RANDOM_BYTES)
    throw new RangeError(`newTokenSecret needs ${TOKEN_RANDOM_BYTES} random bytes, got ${randomBytes.length}`);
  const id = base32(randomBytes.subarray(0, TOKEN_ID_BYTES));
  const secret = base32(randomBytes.subarray(TOKEN_ID_BYTES));
  return `${TOKEN_PREFIX}_${id}_${secret}`;
}

/** sha256 hex of the whole token string, as stored in TokenIssued. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export interface ParsedToken {
  readonly tokenId: string;
  readonly secret: string;
}

/** Strict: no trimming or case folding, so one token has exactly one spelling. */
export function parseToken(value: string): ParsedToken | null {
  const m = TOKEN_RE.exec(value);
  return m ? { tokenId: m[1], secret: m[2] } : null;
}

/** Compares secrets or digests without leaking, through timing, how long a prefix matched. */
export function constantTimeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  // Only the length can leak, and digests all have the same length.
  if (x.length !== y.length) return false;
  return timingSafeEqual(x, y);
}

/** The non-secret form shown in lists and audit output. */
export function displayToken(tokenId: string): string {
  return `${TOKEN_PREFIX}_${tokenId}_…`;
}

const inspectSymbol = Symbol.for('nodejs.util.inspect.custom');

/**
 * The one-time plaintext returned beside the events. It keeps the value in a private field and
 * serialises, prints and inspects as the redacted display form, so passing a command result to a
 * logger or an error by accident does not leak it; only `reveal()` gives the plaintext.
 */
export class OneTimeToken {
  readonly #value: string;
  readonly tokenId: string;

  constructor(value: string) {
    const parsed = parseToken(value);
    if (!parsed) throw new TypeError('OneTimeToken: not a token');
    this.#value = value;
    this.tokenId = parsed.tokenId;
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return displayToken(this.tokenId);
  }

  toJSON(): string {
    return this.toString();
  }

  [inspectSymbol](): string {
    return `OneTimeToken(${this.toString()})`;
  }
}
