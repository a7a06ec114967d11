/**
 * Stable refusal codes. Callers (API error mapping, CLI exit messages, tests) branch on these,
 * so they are part of the public contract: add codes, never rename them.
 */
export type ReportErrorCode =
  | 'REPORT.EMPTY'
  | 'REPORT.NOT_XML'
  | 'REPORT.NOT_UTF8'
  | 'REPORT.NOT_NMAP'
  | 'REPORT.DTD_FORBIDDEN'
  | 'REPORT.TOO_DEEP'
  | 'REPORT.TOO_LARGE'
  | 'REPORT.TRUNCATED'
  | 'REPORT.BAD_HOST';

export interface ReportErrorLocation {
  /** 1-based line of the input where the problem was detected. */
  readonly line?: number;
  /** 1-based column (UTF-16 code units, as saxes counts them). */
  readonly column?: number;
  /** Byte offset into the input, when the problem is about bytes rather than XML. */
  readonly byteOffset?: number;
}

/** Why an nmap report was refused. The message is meant for the person who uploaded the file. */
export class ReportError extends Error {
  override readonly name = 'ReportError';
  readonly line?: number;
  readonly column?: number;
  readonly byteOffset?: number;

  constructor(
    readonly code: ReportErrorCode,
    message: string,
    where: ReportErrorLocation = {},
  ) {
    super(message);
    if (where.line !== undefined) this.line = where.line;
    if (where.column !== undefined) this.column = where.column;
    if (where.byteOffset !== undefined) this.byteOffset = where.byteOffset;
  }
}

export const isReportError = (e: unknown): e is ReportError => e instanceof ReportError;
