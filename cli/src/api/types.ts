import type { ImportMode, PrincipalKind, ProjectRole, Provenance } from '#events';
import type { ImportCounts } from '#domain';

// Shapes the CLI reads. Served routes match apps/ledger-projector; the rest follow the planned
// contracts of the ledger and scanning issues and are read tolerantly (see normalize.ts).

export interface Page<T> {
  readonly items: T[];
  readonly nextCursor?: string | null;
}

export interface WhoAmI {
  readonly id: string;
  readonly username: string;
  readonly kind: PrincipalKind;
  readonly admin: boolean;
  readonly tokenId: string;
}

export interface Member {
  readonly userId: string;
  readonly username: string | null;
  readonly role: ProjectRole;
}

export interface Project {
  readonly id: string;
  readonly name: string;
  readonly comment: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly members: Member[];
  readonly scope: { readonly allow: string[]; readonly deny: string[] };
}

export interface User {
  readonly id: string;
  readonly username: string;
  readonly kind: PrincipalKind;
  readonly admin: boolean;
  readonly status: string;
  readonly createdAt: string;
}

export interface CreatedUser extends User {
  readonly token: string;
  readonly tokenId: string;
}

export interface TokenInfo {
  readonly tokenId: string;
  readonly label: string | null;
  readonly issuedAt: string;
  readonly expiresAt: string | null;
}

export interface IssuedToken {
  readonly tokenId: string;
  readonly token: string;
  readonly revoked?: string;
}

export interface TokenOptions {
  readonly expiresAt?: string;
  readonly lifetimeSeconds?: number;
  readonly label?: string;
}

export type ImportStatus = 'applying' | 'completed' | 'failed' | 'duplicate';

export interface ImportJob {
  readonly importId: string;
  readonly status: ImportStatus;
  readonly counts?: ImportCounts | null;
  /** Why a failed import failed. */
  readonly reason?: string | null;
  readonly message?: string;
  readonly duplicateOf?: string;
  readonly fileName?: string;
  readonly sha256?: string;
  readonly mode?: ImportMode;
  readonly hostCount?: number | null;
  readonly startedAt?: string;
  readonly completedAt?: string | null;
  /** Hosts the projector could not apply (sent to the dead-letter topic). */
  readonly deadLettered?: number;
}

export interface ImportOptions {
  readonly mode: ImportMode;
  readonly trackHistory: boolean;
  readonly force: boolean;
}

export interface HostFilters {
  readonly hasOpenPorts?: boolean;
  readonly port?: string;
  readonly proto?: string;
  readonly service?: string;
  readonly product?: string;
  readonly cidr?: string;
  readonly hostname?: string;
  readonly limit?: number;
  readonly cursor?: string;
  readonly asOf?: string;
}

export interface HistoryFilters {
  readonly ip?: string;
  readonly port?: string;
  readonly field?: string;
  readonly since?: string;
  readonly until?: string;
  readonly limit?: number;
  readonly cursor?: string;
}

/** A row of `GET /projects/:id/history`. */
export interface HistoryRow {
  readonly ip: string;
  readonly port: number | null;
  readonly proto: string | null;
  readonly field: string;
  readonly key?: string | null;
  readonly old: unknown;
  readonly new: unknown;
  readonly rule?: string | null;
  readonly eventId: string;
  readonly observedAt: string;
  readonly source: Provenance | null;
  readonly mode?: ImportMode | null;
  readonly [k: string]: unknown;
}

export type ExportFormat = 'xml' | 'json' | 'csv' | 'ipport';

export interface ScanRequest {
  /** Optional with gaps: the project's scope and known hosts. */
  readonly targets?: string[];
  readonly profile?: string;
  readonly config?: unknown;
  readonly mode?: ImportMode;
  /** Scan again what the same command finished recently (default: resume, skipping it). */
  readonly rescan?: boolean;
  /** A retry with the same key returns the same scan instead of planning a second one. */
  readonly idempotencyKey?: string;
  /** Against the ledger: coverage skips ports already scanned (default for insert/append), none scans what is asked. */
  readonly dedup?: 'coverage' | 'none';
  /** Scan only what coverage lacks (`scan start --gaps`). */
  readonly gaps?: boolean;
  /** Coverage older than this span (30d) does not count. */
  readonly staleAfter?: string;
}

export interface ScanSummary {
  readonly provided?: number;
  readonly duplicatesRemoved?: number;
  readonly hostnamesCollapsed?: number;
  readonly accepted?: number;
  readonly excludedByScope?: number;
  readonly skipped?: Record<string, number> | null;
  readonly refused?: Record<string, number>;
  /** Addresses queued and the tasks they were cut into, once planned. */
  readonly queued?: number | null;
  readonly tasks?: number | null;
  /** Addresses queued only for the ports their coverage lacks. */
  readonly partiallyCovered?: number | null;
  readonly dedup?: 'coverage' | 'none' | null;
  readonly error?: string;
  readonly [k: string]: unknown;
}

export interface RunningTarget {
  readonly ip: string;
  readonly hostnames?: string[];
  readonly workerId?: string | null;
  readonly startedAt?: string | null;
  readonly [k: string]: unknown;
}

export type ScanStatus = 'planning' | 'queued' | 'running' | 'done' | 'failed' | 'cancelled';

export interface Scan {
  readonly scanId: string;
  readonly projectId?: string;
  readonly status?: string;
  readonly createdAt?: string;
  readonly counts?: { queued?: number; running?: number; done?: number; failed?: number; cancelled?: number; total?: number };
  readonly summary?: ScanSummary;
  readonly running?: RunningTarget[];
  readonly failures?: Array<{ taskId: string; targets: string; attempts: number; error: string; at: string }>;
  /** Tasks the project's scan policy or the emergency stop holds back, and why. */
  readonly waiting?: { tasks: number; reason: string } | null;
  readonly profile?: string | null;
  readonly importMode?: ImportMode;
  readonly [k: string]: unknown;
}

export interface Worker {
  readonly workerId: string;
  readonly version?: string;
  readonly egressIp?: string | null;
  readonly hostname?: string | null;
  readonly lastSeen?: string;
  readonly currentTask?: string | null;
  readonly status?: string;
  readonly [k: string]: unknown;
}

export interface Webhook {
  readonly id: string;
  readonly url: string;
  readonly events: string[] | null;
  readonly status: 'active' | 'disabled';
  readonly disabledReason: string | null;
  readonly statusChangedAt: string;
  readonly createdAt: string;
  readonly consecutiveFailures: number;
  readonly cursor: string | null;
  readonly pending: { deliveryId: string; attempts: number; lastChangeId: string | null; nextRetryAt: string | null } | null;
  readonly lastDelivery: { at: string; ok: boolean; httpStatus: number | null; error: string | null; durationMs: number | null } | null;
  readonly lastSuccessAt: string | null;
  readonly [k: string]: unknown;
}

/** Only the answer to creating a webhook carries the secret. */
export interface CreatedWebhook extends Webhook {
  readonly secret: string;
}

export interface WebhookDelivery {
  readonly deliveryId: string;
  readonly attempt: number;
  readonly outcome: 'delivered' | 'failed';
  readonly changeIds: string[];
  readonly httpStatus: number | null;
  readonly error: string | null;
  readonly durationMs: number;
  readonly attemptedAt: string;
  readonly nextRetryAt: string | null;
}
