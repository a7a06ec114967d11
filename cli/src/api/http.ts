import { errorFromNetwork, errorFromResponse, isTransient, type CallSite, type Service } from './errors.js';

export type Query = Record<string, string | number | boolean | readonly string[] | null | undefined>;

export interface RequestOptions {
  readonly query?: Query;
  readonly body?: unknown;
  readonly signal?: AbortSignal;
}

export interface HttpConfig {
  readonly service: Service;
  readonly baseUrl: string;
  readonly token: string | null;
  readonly timeoutMs?: number;
  /** Replaced in tests; defaults to the global fetch. */
  readonly fetch?: typeof fetch;
  readonly userAgent?: string;
}

export function buildQuery(query: Query | undefined): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined || v === null || v === '') continue;
    if (Array.isArray(v)) for (const item of v) params.append(k, item);
    else params.append(k, String(v));
  }
  const s = params.toString();
  return s ? `?${s}` : '';
}

/** Every call of one service: bearer token, timeout, one retry policy and one error vocabulary. */
export class HttpClient {
  readonly service: Service;
  readonly baseUrl: string;
  readonly timeoutMs: number;
  private readonly fetchImpl: typeof fetch;

  constructor(private readonly config: HttpConfig) {
    this.service = config.service;
    this.baseUrl = config.baseUrl.replace(/\/+$/, '');
    this.timeoutMs = config.timeoutMs ?? 60_000;
    this.fetchImpl = config.fetch ?? fetch;
  }

  get token(): string | null {
    return this.config.token;
  }

  headers(extra: Record<string, string> = {}): Record<string, string> {
    return {
      accept: 'application/json',
      'user-agent': this.config.userAgent ?? 'falcli',
      ...(this.config.token ? { authorization: `Bearer ${this.config.token}` } : {}),
      ...extra,
    };
  }

  site(method: string, path: string): CallSite {
    return { service: this.service, baseUrl: this.baseUrl, method, path };
  }

  /** JSON in, JSON out; 204 gives undefined. */
  async json<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const res = await this.send(method, path, opts);
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    if (!text) return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      return text as T;
    }
  }

  /** The raw response of a successful call, for streamed downloads. */
  async stream(method: string, path: string, opts: RequestOptions = {}): Promise<Response> {
    return this.send(method, path, opts);
  }

  private async send(method: string, path: string, opts: RequestOptions): Promise<Response> {
    const url = this.baseUrl + path + buildQuery(opts.query);
    const at = this.site(method, path);
    // Only reads are retried: a write that broke mid-way may have been applied.
    const attempts = method === 'GET' ? 3 : 1;
    for (let attempt = 1; ; attempt++) {
      // The timeout bounds the wait for the answer's headers: a streamed export may take longer.
      const timer = new AbortController();
      const clock = setTimeout(() => timer.abort(new DOMException('timed out', 'TimeoutError')), this.timeoutMs);
      const signal = opts.signal ? AbortSignal.any([opts.signal, timer.signal]) : timer.signal;
      let res: Response;
      try {
        res = await this.fetchImpl(url, {
          method,
          headers: this.headers(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
          body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
          signal,
        });
      } catch (e) {
        if (opts.signal?.aborted) throw e;
        if (attempt < attempts && isTransient(e)) {
          await new Promise((r) => setTimeout(r, 500 * attempt));
          continue;
        }
        throw errorFromNetwork(timer.signal.aborted ? timer.signal.reason : e, at, this.timeoutMs);
      } finally {
        clearTimeout(clock);
      }
      if (res.ok) return res;
      throw errorFromResponse(res.status, await res.text().catch(() => ''), at);
    }
  }
}
