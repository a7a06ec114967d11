// A deliberately tiny structural validator for event payloads. libs/events must stay free of
// frameworks, and consumers validate every message, so this is small, fast and dependency-free.

export type Check<T> = (value: unknown, path: string) => T;

export class SchemaError extends Error {
  readonly code = 'EVENT.SCHEMA_INVALID';
  constructor(readonly path: string, readonly expected: string) {
    super(`${path || 'value'}: expected ${expected}`);
  }
}

const fail = (path: string, expected: string): never => {
  throw new SchemaError(path, expected);
};

export const str: Check<string> = (v, p) => (typeof v === 'string' ? v : fail(p, 'string'));
export const num: Check<number> = (v, p) => (typeof v === 'number' && Number.isFinite(v) ? v : fail(p, 'number'));
export const int: Check<number> = (v, p) => (Number.isInteger(v) ? (v as number) : fail(p, 'integer'));
export const bool: Check<boolean> = (v, p) => (typeof v === 'boolean' ? v : fail(p, 'boolean'));
export const unknownValue: Check<unknown> = (v) => v;

export const literal =
  <const L extends readonly (string | number)[]>(...values: L): Check<L[number]> =>
  (v, p) =>
    values.includes(v as L[number]) ? (v as L[number]) : fail(p, `one of ${values.join('|')}`);

export const optional =
  <T>(c: Check<T>): Check<T | undefined> =>
  (v, p) =>
    v === undefined || v === null ? undefined : c(v, p);

export const nullable =
  <T>(c: Check<T>): Check<T | null> =>
  (v, p) =>
    v === null || v === undefined ? null : c(v, p);

export const array =
  <T>(c: Check<T>): Check<readonly T[]> =>
  (v, p) => {
    if (!Array.isArray(v)) return fail(p, 'array');
    for (let i = 0; i < v.length; i++) c(v[i], `${p}[${i}]`);
    return v as T[];
  };

type Shape = Record<string, Check<unknown>>;
type Infer<S extends Shape> = { readonly [K in keyof S]: ReturnType<S[K]> };

/** Checks the listed fields; extra fields are tolerated so that newer producers do not break older consumers. */
export const object =
  <S extends Shape>(shape: S): Check<Infer<S>> =>
  (v, p) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return fail(p, 'object');
    const o = v as Record<string, unknown>;
    for (const k in shape) shape[k](o[k], p ? `${p}.${k}` : k);
    return v as Infer<S>;
  };

export const record =
  <T>(c: Check<T>): Check<Readonly<Record<string, T>>> =>
  (v, p) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return fail(p, 'object');
    for (const [k, x] of Object.entries(v)) c(x, `${p}.${k}`);
    return v as Record<string, T>;
  };

export const lazy =
  <T>(f: () => Check<T>): Check<T> =>
  (v, p) =>
    f()(v, p);

export const uuid: Check<string> = (v, p) =>
  typeof v === 'string' && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(v) ? v : fail(p, 'uuid');

export const isoTime: Check<string> = (v, p) =>
  typeof v === 'string' && !Number.isNaN(Date.parse(v)) ? v : fail(p, 'ISO-8601 timestamp');
