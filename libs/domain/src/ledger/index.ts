export * from './host-state.js';
export { foldObservation, foldHostDeleted, openness, sourceIdOf, comparePortKeys, type DeleteResult } from './fold.js';
export { classifyPort, explainPort, lastScannedAt, type PortClass, type NmapPortStateName } from './classify.js';
export { canonicalJson, canonicalHash, sameJson } from './canonical-json.js';
export { normaliseRanges, subtractRanges, rangeContaining, formatRange } from './port-ranges.js';
export { compareTime } from './time.js';
export { tallyImport, type ImportCounts } from './import-counts.js';
export { replayHost, advanceClock, hostMatches, portMatches, type HostEvent, type HostQuery, type PortClause } from './as-of.js';
