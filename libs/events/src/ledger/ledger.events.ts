import type { Envelope } from '../core/envelope.js';
import { eventCatalogue } from '../core/catalogue.js';
import { bool, int, literal, object, optional, str, type Check } from '../core/schema.js';
import { Topics } from '../core/topics.js';
import { coverageCheck, hostCheck, runMetaCheck } from './nmap.schema.js';
import type { Coverage, NmapHost, NmapRunMeta } from './nmap.types.js';

export type ImportMode = 'insert' | 'append' | 'update' | 'replace';
export const IMPORT_MODES: readonly ImportMode[] = ['insert', 'append', 'update', 'replace'];

/** Where an observation came from: a report import, or a scan task run by a worker. */
export type Provenance =
  | { readonly kind: 'import'; readonly importId: string; readonly fileSha256: string; readonly fileName?: string }
  | { readonly kind: 'task'; readonly taskId: string; readonly scanId: string; readonly workerId: string };

const provenance: Check<Provenance> = (v, p) => {
  const o = object({ kind: literal('import', 'task') })(v, p);
  if (o.kind === 'import') object({ importId: str, fileSha256: str, fileName: optional(str) })(v, p);
  else object({ taskId: str, scanId: str, workerId: str })(v, p);
  return v as Provenance;
};

export interface ImportStartedV1 {
  readonly projectId: string;
  readonly importId: string;
  readonly mode: ImportMode;
  readonly trackHistory: boolean;
  readonly fileName: string;
  readonly fileSha256: string;
  readonly force: boolean;
}

export interface HostObservedV1 {
  readonly projectId: string;
  readonly mode: ImportMode;
  readonly trackHistory: boolean;
  readonly source: Provenance;
  /** The run this host came from: nmap version and arguments, for provenance. */
  readonly run: { readonly scanner: string; readonly version?: string; readonly args?: string };
  /** What the run covered; unknown protocols are absent and never close ports by absence. */
  readonly coverage: Coverage;
  readonly observedAt: string;
  readonly host: NmapHost;
}

export interface ImportCompletedV1 {
  readonly projectId: string;
  readonly importId: string;
  readonly hostCount: number;
  readonly run: NmapRunMeta;
}

export interface ImportFailedV1 {
  readonly projectId: string;
  readonly importId: string;
  readonly reason: string;
}

export interface HostDeletedV1 {
  readonly projectId: string;
  readonly ip: string;
}

const ledgerEvents = eventCatalogue;
const T = Topics.ledger.name;
const mode = literal('insert', 'append', 'update', 'replace');

ledgerEvents.define<'ImportStarted', ImportStartedV1>({
  type: 'ImportStarted',
  topic: T,
  schemaVersion: 1,
  payload: object({ projectId: str, importId: str, mode, trackHistory: bool, fileName: str, fileSha256: str, force: bool }) as Check<ImportStartedV1>,
});
ledgerEvents.define<'HostObserved', HostObservedV1>({
  type: 'HostObserved',
  topic: T,
  schemaVersion: 1,
  payload: object({
    projectId: str,
    mode,
    trackHistory: bool,
    source: provenance,
    run: object({ scanner: str, version: optional(str), args: optional(str) }),
    coverage: coverageCheck,
    observedAt: str,
    host: hostCheck,
  }) as Check<HostObservedV1>,
});
ledgerEvents.define<'ImportCompleted', ImportCompletedV1>({
  type: 'ImportCompleted',
  topic: T,
  schemaVersion: 1,
  payload: object({ projectId: str, importId: str, hostCount: int, run: runMetaCheck }) as Check<ImportCompletedV1>,
});
ledgerEvents.define<'ImportFailed', ImportFailedV1>({
  type: 'ImportFailed',
  topic: T,
  schemaVersion: 1,
  payload: object({ projectId: str, importId: str, reason: str }) as Check<ImportFailedV1>,
});
ledgerEvents.define<'HostDeleted', HostDeletedV1>({
  type: 'HostDeleted',
  topic: T,
  schemaVersion: 1,
  payload: object({ projectId: str, ip: str }) as Check<HostDeletedV1>,
});

export type LedgerEvent =
  | Envelope<'ImportStarted', ImportStartedV1>
  | Envelope<'HostObserved', HostObservedV1>
  | Envelope<'ImportCompleted', ImportCompletedV1>
  | Envelope<'ImportFailed', ImportFailedV1>
  | Envelope<'HostDeleted', HostDeletedV1>;

