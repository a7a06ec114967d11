import { CliError, type ExitKind } from '../errors.js';

export type Service = 'ledger' | 'tasker';

/**
 * An HTTP call that failed, already phrased for the user; `status` is null when nothing answered.
 * `answer` is the server's JSON body, when it sent one, for callers that act on its fields.
 */
export class ApiError extends CliError {
  constructor(
    kind: ExitKind,
    message: string,
    readonly service: Service,
    readonly status: number | null,
    hint?: string,
    readonly answer?: unknown,
  ) {
    super(kind, message, hint);
    this.name = 'ApiError';
  }
}

export interface CallSite {
  readonly service: Service;
  readonly baseUrl: string;
  readonly method: string;
  readonly path: string;
}

const START_HINT: Record<Service, string> = {
  ledger: "start the local stack with 'npm start' in the falcoria checkout, or point the profile at a running ledger: falcli profile set <profile> ledgerUrl <url>",
  tasker: "start the local stack with 'npm start' in the falcoria checkout, or point the profile at a running tasker: falcli profile set <profile> taskerUrl <url>",
};

/** The server's own words: Nest puts them in `message` (a string, or a list from validation). */
export function serverMessage(body: string): string {
  try {
    const parsed = JSON.parse(body) as { message?: unknown; error?: unknown; errors?: unknown };
    const m = parsed.message;
    const base = Array.isArray(m) ? m.join('; ') : typeof m === 'string' ? m : typeof parsed.error === 'string' ? parsed.error : body;
    // Scope validation and similar return a list of entry errors next to the message.
    if (Array.isArray(parsed.errors) && parsed.errors.length) {
      const details = parsed.errors.map((e) => (typeof e === 'string' ? e : JSON.stringify(e))).join('; ');
      return `${base}: ${details}`;
    }
    return base;
  } catch {
    return body.trim().slice(0, 500) || '(empty body)';
  }
}

/** Nest answers an unmatched route with "Cannot GET /path": that means "not deployed here", not "no such thing". */
export function isMissingRoute(status: number, message: string): boolean {
  return status === 404 && /^Cannot (GET|POST|PUT|PATCH|DELETE|HEAD) \//.test(message);
}

const jsonOf = (body: string): unknown => {
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return undefined;
  }
};

export function errorFromResponse(status: number, body: string, at: CallSite): ApiError {
  const msg = serverMessage(body);
  const where = `${at.service} at ${at.baseUrl}`;
  if (status === 401) {
    return new ApiError('auth', `the ${where} refused the token (401 ${msg})`, at.service, status, 'check the token with: falcli profile validate; a new one comes from an admin (falcli token issue --user <you>)');
  }
  if (status === 403) return new ApiError('auth', `not allowed: ${msg} (403)`, at.service, status, 'ask an owner of the project or an admin for a higher role');
  if (isMissingRoute(status, msg)) {
    return new ApiError('unavailable', `not available on this server yet: the ${where} does not serve ${at.method} ${at.path.split('?')[0]}`, at.service, status, 'update the server, or use a command this server supports');
  }
  if (status === 404) return new ApiError('notFound', `not found: ${msg}`, at.service, status);
  if ([400, 409, 413, 415, 422, 429].includes(status)) return new ApiError('rejected', `the ${at.service} rejected the request: ${msg} (${status})`, at.service, status);
  if (status >= 500) return new ApiError('server', `the ${where} failed: ${msg} (${status})`, at.service, status, 'see the server log; retry once it is healthy', jsonOf(body));
  return new ApiError('failure', `unexpected answer from the ${where}: ${status} ${msg}`, at.service, status);
}

/** fetch and node:http both report the socket error's code, directly or as `cause`. */
export function networkCode(e: unknown): string | undefined {
  const err = e as { code?: string; cause?: { code?: string; name?: string }; name?: string };
  if (err?.name === 'TimeoutError' || err?.cause?.name === 'TimeoutError') return 'TIMEOUT';
  return err?.code ?? err?.cause?.code;
}

export function errorFromNetwork(e: unknown, at: CallSite, timeoutMs: number): ApiError {
  const code = networkCode(e);
  const where = `the ${at.service} at ${at.baseUrl}`;
  switch (code) {
    case 'ECONNREFUSED':
      return new ApiError('server', `cannot reach ${where}: connection refused (nothing is listening)`, at.service, null, START_HINT[at.service]);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new ApiError('server', `cannot reach ${where}: host name not found`, at.service, null, START_HINT[at.service]);
    case 'TIMEOUT':
      return new ApiError('server', `no answer from ${where} within ${timeoutMs >= 1000 ? Math.round(timeoutMs / 1000) : timeoutMs / 1000} s`, at.service, null, 'the server may be overloaded; raise the limit with FALCLI_TIMEOUT=<seconds>');
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'CERT_HAS_EXPIRED':
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return new ApiError('server', `the TLS certificate of ${where} is not trusted (${code})`, at.service, null, 'trust its CA with NODE_EXTRA_CA_CERTS=/path/to/ca.pem (verification is never switched off)');
    default: {
      const detail = code ?? (e instanceof Error ? e.message : String(e));
      return new ApiError('server', `cannot talk to ${where}: ${detail}`, at.service, null, START_HINT[at.service]);
    }
  }
}

/** Worth another attempt: the connection broke mid-way. A refused connection will be refused again. */
export function isTransient(e: unknown): boolean {
  return ['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'ETIMEDOUT'].includes(networkCode(e) ?? '');
}
