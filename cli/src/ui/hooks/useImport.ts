import { useCallback, useState } from 'react';
import type { ImportMode } from '#events';
import type { Api, ImportJob } from '../../api/index.js';
import type { ProjectRef } from '../../config/profiles.js';
import { checkNmapReport } from '../../local-files.js';

export type ImportPhase = 'idle' | 'uploading' | 'applying' | 'done' | 'failed';

export interface ImportState {
  readonly phase: ImportPhase;
  readonly file: string | null;
  readonly sent: number;
  readonly total: number;
  readonly startedAt: number;
  readonly job: ImportJob | null;
  readonly error: string | null;
  /** Why the upload started over (the ledger applied nothing of an attempt), while it runs again. */
  readonly notice: string | null;
}

const IDLE: ImportState = { phase: 'idle', file: null, sent: 0, total: 0, startedAt: 0, job: null, error: null, notice: null };

/**
 * Upload, then poll until the ledger has applied the report. Upload progress arrives far more
 * often than the screen can redraw, so it is passed on at most every 100 ms.
 */
export function useImport(api: Api, project: ProjectRef | null, pollMs = 300) {
  const [state, setState] = useState<ImportState>(IDLE);

  const start = useCallback(
    async (file: string, mode: ImportMode) => {
      if (!project) return;
      const startedAt = Date.now();
      try {
        const { size } = checkNmapReport(file);
        setState({ ...IDLE, phase: 'uploading', file, total: size, startedAt });
        let last = 0;
        let job = await api.ledger.startImport(project.id, { path: file, size }, { mode, trackHistory: true, force: false }, (sent, total) => {
          const now = Date.now();
          if (now - last < 100 && sent < total) return;
          last = now;
          setState((s) => ({ ...s, sent, total }));
        }, {
          onResend: (n, of, ms) => setState((s) => ({ ...s, sent: 0, notice: `nothing of it was applied (a Kafka broker went away); sending it again in ${ms / 1000} s (${n} of ${of})` })),
        });
        setState((s) => ({ ...s, phase: 'applying', sent: s.total, job, notice: null }));
        while (job.status === 'applying') {
          await new Promise((r) => setTimeout(r, pollMs));
          job = await api.ledger.pollImport(project.id, job);
        }
        setState((s) => ({ ...s, phase: job.status === 'failed' ? 'failed' : 'done', job, error: job.status === 'failed' ? (job.reason ?? 'the import failed') : null }));
      } catch (e) {
        setState((s) => ({ ...s, phase: 'failed', file, startedAt, error: (e as Error).message }));
      }
    },
    [api, project, pollMs],
  );

  return { state, start };
}
