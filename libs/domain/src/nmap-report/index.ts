export { parseNmapReport, readNmapReport } from './parse.js';
export type { NmapReportEvent, ParseNmapReportOptions } from './parse.js';
export { ReportError, isReportError } from './errors.js';
export type { ReportErrorCode, ReportErrorLocation } from './errors.js';
export { inferCoverage, portInCoverage, coverageFromNmapArgs } from './coverage.js';
