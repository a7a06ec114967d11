import type { HttpClient } from './http.js';
import type { Page, Scan, ScanRequest, Worker } from './types.js';

const seg = encodeURIComponent;
const scans = (projectId: string) => `/projects/${seg(projectId)}/scans`;

/** One function per tasker route; all planned by the scanning issue and wired ahead of it. */
export function taskerApi(http: HttpClient) {
  return {
    startScan: (projectId: string, body: ScanRequest) => http.json<Scan>('POST', scans(projectId), { body }),
    listScans: (projectId: string, query: { status?: string; limit?: number; cursor?: string } = {}) => http.json<Page<Scan>>('GET', scans(projectId), { query }),
    getScan: (projectId: string, scanId: string) => http.json<Scan>('GET', `${scans(projectId)}/${seg(scanId)}`),
    /** Without `ips` the whole scan is cancelled; with them, only those targets. */
    cancelScan: (projectId: string, scanId: string, ips?: string[]) =>
      http.json<{ cancelled?: number; [k: string]: unknown }>('POST', `${scans(projectId)}/${seg(scanId)}/cancel`, { body: ips?.length ? { ips } : {} }),
    listWorkers: () => http.json<Page<Worker>>('GET', '/workers'),
  };
}

export type TaskerApi = ReturnType<typeof taskerApi>;
