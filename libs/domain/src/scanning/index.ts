export { normalizeIp, parseIp, formatIp, parseCidr, formatCidr, parseIpRange } from './ip.js';
export type { IpFamily, ParsedIp, Cidr, CidrParse, RangeParse } from './ip.js';
export { normalizeHostname, type HostnameParse } from './hostname.js';
export { CompiledScope, TargetScopeError, validateTargetScope } from './scope.js';
export type { TargetScope, ScopeEntryError, ScopeCompile } from './scope.js';
export {
  parseTargets,
  countTargets,
  iterateTargets,
  targetSetHas,
  targetSetToJson,
  targetSetFromJson,
  TARGET_REFUSAL_CODES,
  DEFAULT_CIDR_CAP,
} from './targets.js';
export type {
  TargetRefusalCode,
  TargetKind,
  CidrCap,
  ParseTargetsOptions,
  TargetSet,
  TargetSetJson,
  AddressSpan,
  RefusedTargetInput,
  AddressTargetInput,
  HostnameTargetInput,
  TargetInputOutcome,
  TargetSummary,
  ParsedTargets,
} from './targets.js';
export { resolveHostnames, collapseTargets, iterateTargetsWithHostnames } from './resolution.js';
export type { Resolver, ResolveOptions, ResolutionFailure, HostnameResolution, CollapsedTargets } from './resolution.js';
export { parsePortSpec, formatPortSpec, countPorts, type PortRange, type PortSpecParse } from './ports.js';
export {
  validateScanConfig,
  validateScanConfigOverride,
  mergeConfig,
  DEFAULT_SCAN_CONFIG,
  DEFAULT_SERVICES,
  SCAN_CONFIG_LIMITS,
} from './scan-config.js';
export type {
  ScanConfig,
  OpenPortsConfig,
  ServicesConfig,
  ScanConfigOverride,
  ScanConfigError,
  ScanConfigValidation,
  ScanConfigOverrideValidation,
  ScanProtocol,
  ScanType,
} from './scan-config.js';
export { parseProfile, PROFILE_NAMES, isProfileName, type ProfileName, type ProfileParse } from './profiles.js';
export { buildOpenPortsArgv, buildServicesArgv, shardPorts, NMAP_OPTION_NAMES, NmapArgvError, ShardingError } from './nmap-argv.js';
export type { ScanTarget, OpenPort, PortShard } from './nmap-argv.js';
export { capScanRate } from './rate-cap.js';
