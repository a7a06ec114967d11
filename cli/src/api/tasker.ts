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
    listWorkers: () => http.json<Page<Worker>>('GET', '/workers'),
  };
}

export type TaskerApi = ReturnType<typeof taskerApi>;
