import type { ProjectRole } from '#events';
import type { HttpClient, Query } from './http.js';
import type {
  CreatedUser,
  CreatedWebhook,
  ExportFormat,
  HistoryFilters,
  HistoryRow,
  HostFilters,
  ImportJob,
  ImportOptions,
  IssuedToken,
  Member,
  Page,
  Project,
  TokenInfo,
  TokenOptions,
  User,
  Webhook,
  WebhookDelivery,
  WhoAmI,
} from './types.js';
import { uploadMultipart, type AnswerWait, type ProgressFn, type UploadFile } from './upload.js';
import { ApiError } from './errors.js';

const seg = encodeURIComponent;
const p = (projectId: string) => `/projects/${seg(projectId)}`;

/**
 * What an upload does when the ledger answers 503 with the import `failed`: the event log did not
 * take all of it (a broker went away mid-import) and nothing of it was applied, so sending the file
 * again is safe. Any other failure is the caller's to report.
 */
export interface ResendPolicy {
  /** How many times the file is sent again; 0 reports the first such answer. */
  readonly resends?: number;
  readonly delayMs?: (resend: number) => number;
  /** Told before each resend. */
  readonly onResend?: (resend: number, of: number, delayMs: number) => void;
}

export const DEFAULT_IMPORT_RESENDS = 3;
const resendDelayMs = (n: number) => [2000, 5000, 10000][n - 1] ?? 15000;

/**
 * The ledger answers an upload once it has parsed and published all of it (its Kafka transaction
 * may stay open up to LEDGER_IMPORT_TRANSACTION_TIMEOUT_MS, 10 minutes by default) or given up on a
 * broker that went away (after a minute or more of retries): silence that long is not a hang.
 */
const IMPORT_ANSWER: AnswerWait = {
  timeoutMs: 15 * 60_000,
  hint: "the import may still be applied: see 'falcli project ips imports' before sending it again",
};

const nothingApplied = (e: unknown): e is ApiError =>
  e instanceof ApiError && e.status === 503 && (e.answer as { status?: unknown } | undefined)?.status === 'failed';

/** One function per ledger route. The "planned" ones are wired before the ledger serves them. */
export function ledgerApi(http: HttpClient) {
  return {
    whoami: () => http.json<WhoAmI>('GET', '/auth/whoami'),

    listProjects: () => http.json<Page<Project>>('GET', '/projects'),
    getProject: (id: string) => http.json<Project>('GET', p(id)),
    createProject: (body: { name: string; comment?: string }) => http.json<Project>('POST', '/projects', { body }),
    updateProject: (id: string, body: { name?: string; comment?: string }) => http.json<Project>('PATCH', p(id), { body }),
    deleteProject: (id: string) => http.json<void>('DELETE', p(id)),
    setScope: (id: string, body: { allow: string[]; deny: string[] }) => http.json<Project['scope']>('PUT', `${p(id)}/scope`, { body }),

    listMembers: (id: string) => http.json<Page<Member>>('GET', `${p(id)}/members`),
    /** `user` is a user id or a username; the server accepts both. */
    setMember: (id: string, user: string, role: ProjectRole) => http.json<Page<Member>>('PUT', `${p(id)}/members/${seg(user)}`, { body: { role } }),
    removeMember: (id: string, user: string) => http.json<void>('DELETE', `${p(id)}/members/${seg(user)}`),

    listUsers: () => http.json<Page<User>>('GET', '/users'),
    getUser: (userId: string) => http.json<User>('GET', `/users/${seg(userId)}`),
    createUser: (body: { username: string; kind?: string; admin?: boolean } & TokenOptions) => http.json<CreatedUser>('POST', '/users', { body }),
    updateUser: (userId: string, body: { admin?: boolean; disabled?: boolean }) => http.json<User>('PATCH', `/users/${seg(userId)}`, { body }),
    deleteUser: (userId: string) => http.json<void>('DELETE', `/users/${seg(userId)}`),

    /** `userId` may be `me`. */
    listTokens: (userId: string) => http.json<Page<TokenInfo>>('GET', `/users/${seg(userId)}/tokens`),
    issueToken: (userId: string, body: TokenOptions) => http.json<IssuedToken>('POST', `/users/${seg(userId)}/tokens`, { body }),
    rotateToken: (userId: string, tokenId: string, body: Omit<TokenOptions, 'label'>) =>
      http.json<IssuedToken>('POST', `/users/${seg(userId)}/tokens/${seg(tokenId)}/rotate`, { body }),
    revokeToken: (userId: string, tokenId: string) => http.json<void>('DELETE', `/users/${seg(userId)}/tokens/${seg(tokenId)}`),

    // --- ledger issue: imports, hosts, history, search, exports, rebuild --------------------------
    startImport: async (id: string, file: UploadFile, opts: ImportOptions, onProgress?: ProgressFn, policy: ResendPolicy = {}): Promise<ImportJob> => {
      const resends = policy.resends ?? DEFAULT_IMPORT_RESENDS;
      for (let n = 1; ; n++) {
        try {
          return await uploadMultipart<ImportJob>(http, `${p(id)}/imports`, { mode: opts.mode, trackHistory: String(opts.trackHistory), force: String(opts.force) }, file, onProgress, IMPORT_ANSWER);
        } catch (e) {
          if (!nothingApplied(e) || n > resends) throw e;
          const wait = (policy.delayMs ?? resendDelayMs)(n);
          policy.onResend?.(n, resends, wait);
          await new Promise((r) => setTimeout(r, wait));
        }
      }
    },
    getImport: (id: string, importId: string) => http.json<ImportJob>('GET', `${p(id)}/imports/${seg(importId)}`),
    /**
     * The next state of an import the ledger accepted. Its events reach the read model only once the
     * import's transaction commits, so a lagging projector may not know the id yet: still applying.
     */
    pollImport: (id: string, job: ImportJob) =>
      http.json<ImportJob>('GET', `${p(id)}/imports/${seg(job.importId)}`).catch((e: unknown) => {
        if (e instanceof ApiError && e.status === 404) return job;
        throw e;
      }),
    listImports: (id: string, limit = 50) => http.json<Page<ImportJob>>('GET', `${p(id)}/imports`, { query: { limit } }),

    listHosts: (id: string, filters: HostFilters = {}) => http.json<Page<unknown>>('GET', `${p(id)}/hosts`, { query: filters as Query }),
    getHost: (id: string, ip: string, asOf?: string) => http.json<unknown>('GET', `${p(id)}/hosts/${seg(ip)}`, { query: asOf ? { asOf } : {} }),
    deleteHost: (id: string, ip: string) => http.json<{ deleted: number }>('DELETE', `${p(id)}/hosts/${seg(ip)}`),
    /** The ledger wants confirm=true, so an accidental DELETE on the collection does nothing. */
    deleteAllHosts: (id: string) => http.json<{ deleted: number }>('DELETE', `${p(id)}/hosts`, { query: { confirm: true } }),
    history: (id: string, filters: HistoryFilters = {}) => http.json<Page<HistoryRow>>('GET', `${p(id)}/history`, { query: filters as Query }),
    hostEvents: (id: string, ip: string) => http.json<Page<unknown>>('GET', `${p(id)}/hosts/${seg(ip)}/events`),
    search: (id: string, body: unknown) => http.json<Page<unknown>>('POST', `${p(id)}/hosts/search`, { body }),
    facets: (id: string, filters: HostFilters = {}) => http.json<Record<string, Array<{ value: string; count: number }>>>('GET', `${p(id)}/facets`, { query: filters as Query }),
    /** The body streams; the caller pipes it to a file or stdout. */
    exportStream: (id: string, format: ExportFormat, filters: Query = {}) => http.stream('GET', `${p(id)}/export`, { query: { format, ...filters } }),

    rebuild: () => http.json<{ applied: number; seconds: number; checksumBefore: string; checksumAfter: string; equal: boolean }>('POST', '/ledger/rebuild'),
    checksum: () => http.json<{ checksum: string; [k: string]: unknown }>('GET', '/ledger/checksum'),

    // --- audit issue: diff, provenance, coverage ------------------------------------------------
    /** `format: 'text'` answers the ndiff-like text instead of JSON. */
    /** Rebuilds the project up to `until` in a scratch schema; its checksum must equal the as-of view's. */
    auditReplay: (id: string, until: string) =>
      http.json<{ until: string; hosts: number; replayChecksum: string; asOfChecksum: string; equal: boolean; scanned: number; seconds: number }>('POST', `${p(id)}/audit/replay`, { body: { until } }),
    diff: (id: string, range: { from?: string; to?: string; format?: 'text' }) => http.json<unknown>('GET', `${p(id)}/diff`, { query: range }),
    explain: (id: string, ip: string, proto: string, port: number) => http.json<unknown>('GET', `${p(id)}/hosts/${seg(ip)}/ports/${seg(proto)}/${port}/explain`),
    coverage: (id: string, query: Query = {}) => http.json<unknown>('GET', `${p(id)}/coverage`, { query }),

    // --- webhooks on the change feed ------------------------------------------------------------
    listWebhooks: (id: string) => http.json<Page<Webhook>>('GET', `${p(id)}/webhooks`),
    /** The answer carries the secret, this once. */
    createWebhook: (id: string, body: { url: string; secret?: string; events?: string[] }) => http.json<CreatedWebhook>('POST', `${p(id)}/webhooks`, { body }),
    deleteWebhook: (id: string, webhookId: string) => http.json<void>('DELETE', `${p(id)}/webhooks/${seg(webhookId)}`),
    enableWebhook: (id: string, webhookId: string) => http.json<Webhook>('POST', `${p(id)}/webhooks/${seg(webhookId)}/enable`),
    webhookDeliveries: (id: string, webhookId: string, limit = 50) => http.json<Page<WebhookDelivery>>('GET', `${p(id)}/webhooks/${seg(webhookId)}/deliveries`, { query: { limit } }),
  };
}

export type LedgerApi = ReturnType<typeof ledgerApi>;
