import { HttpClient } from './http.js';
import { ledgerApi, type LedgerApi } from './ledger.js';
import { taskerApi, type TaskerApi } from './tasker.js';

export interface Api {
  readonly ledger: LedgerApi;
  readonly tasker: TaskerApi;
  readonly ledgerUrl: string;
  readonly taskerUrl: string;
}

export interface ApiSettings {
  readonly ledgerUrl: string;
  readonly taskerUrl: string;
  readonly token: string | null;
  readonly timeoutMs?: number;
  readonly fetch?: typeof fetch;
}

/** The one place the CLI and the UI get their HTTP access from. */
export function createApi(s: ApiSettings): Api {
  const common = { token: s.token, timeoutMs: s.timeoutMs, fetch: s.fetch, userAgent: 'falcli/0.1' };
  return {
    ledger: ledgerApi(new HttpClient({ service: 'ledger', baseUrl: s.ledgerUrl, ...common })),
    tasker: taskerApi(new HttpClient({ service: 'tasker', baseUrl: s.taskerUrl, ...common })),
    ledgerUrl: s.ledgerUrl,
    taskerUrl: s.taskerUrl,
  };
}

export { ApiError } from './errors.js';
export type * from './types.js';
export type { LedgerApi } from './ledger.js';
export type { TaskerApi } from './tasker.js';
