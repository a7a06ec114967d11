import type { HttpClient } from './http.js';
import type { Page, Scan, ScanRequest, Worker } from './types.js';

const seg = encodeURIComponent;
const scans = (projectId: string) => `/projects/${seg(projectId)}/scans`;

export interface CancelResult {
  readonly cancelId: string;
  /** false when the tasker had not confirmed the cancellation before answering. */
  readonly applied: boolean;
  readonly cancelled?: number;
  readonly queued?: number;
  readonly running?: number;
  readonly scanIds?: string[];
}

export interface RateBudget {
  readonly cidr: string;
  readonly maxHosts: number;
  readonly maxPps?: number;
}

export interface ScanWindow {
  readonly start: string;
  readonly end: string;
  readonly timeZone: string;
}

export interface ScanPolicyBody {
  readonly budgets: RateBudget[];
  readonly window: ScanWindow | null;
}

export interface EmergencyStop {
  readonly active: boolean;
  readonly stopId?: string | null;
  readonly since: string | null;
  readonly by: { id: string; name: string | null } | null;
  readonly reason: string | null;
  readonly history?: Array<{ type: 'activated' | 'released'; at: string; by: { id: string; name: string | null } | null; reason: string | null }>;
}

export interface ScanPolicyView {
  readonly projectId: string;
  readonly applied?: boolean;
  readonly policy: ScanPolicyBody;
  readonly setAt: string | null;
  readonly setBy: { id: string; name: string | null } | null;
  readonly window: { insideNow: boolean; nextChangeAt: string | null } | null;
  readonly dispatch: {
    readonly held: number;
    readonly waiting: string | null;
    readonly budgets: Array<{ cidr: string; maxHosts: number; maxPps: number | null; inFlight: number; waiting: number }>;
  };
  readonly emergencyStop: EmergencyStop;
}

export interface ScanProfile {
  readonly name: string;
  readonly description?: string;
  readonly config: unknown;
}

/** One function per tasker route. */
export function taskerApi(http: HttpClient) {
  return {
    startScan: (projectId: string, body: ScanRequest) => http.json<Scan>('POST', scans(projectId), { body }),
    listProfiles: () => http.json<Page<ScanProfile>>('GET', '/profiles'),
    listScans: (projectId: string, query: { status?: string; limit?: number; cursor?: string } = {}) => http.json<Page<Scan>>('GET', scans(projectId), { query }),
    getScan: (projectId: string, scanId: string) => http.json<Scan>('GET', `${scans(projectId)}/${seg(scanId)}`),
    /** Without `ips` the whole scan is cancelled; with them, only those targets. */
    cancelScan: (projectId: string, scanId: string, ips?: string[]) => http.json<CancelResult>('POST', `${scans(projectId)}/${seg(scanId)}/cancel`, { body: ips?.length ? { ips } : {} }),
    /** Every scan of the project, or only the tasks holding `ips`. */
    cancelProject: (projectId: string, ips?: string[]) => http.json<CancelResult>('POST', `${scans(projectId)}/cancel`, { body: ips?.length ? { ips } : {} }),
    listWorkers: () => http.json<Page<Worker> & { emergencyStop?: EmergencyStop }>('GET', '/workers'),
    getScanPolicy: (projectId: string) => http.json<ScanPolicyView>('GET', `/projects/${seg(projectId)}/scan-policy`),
    /** Replaces the project's whole policy (owners and admins). */
    setScanPolicy: (projectId: string, body: ScanPolicyBody) => http.json<ScanPolicyView>('PUT', `/projects/${seg(projectId)}/scan-policy`, { body }),
    getEmergencyStop: () => http.json<EmergencyStop>('GET', '/emergency-stop'),
    /** Admins: kill every running nmap on every worker, start nothing until released. */
    emergencyStop: (reason?: string) => http.json<EmergencyStop>('POST', '/emergency-stop', { body: reason ? { reason } : {} }),
    releaseEmergencyStop: (reason?: string) => http.json<EmergencyStop>('POST', '/emergency-stop/release', { body: reason ? { reason } : {} }),
  };
}

export type TaskerApi = ReturnType<typeof taskerApi>;
