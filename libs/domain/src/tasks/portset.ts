import type { PortShardJson } from '#events';
import { canonicalHash } from '../ledger/canonical-json.js';
import { shardPorts } from '../scanning/nmap-argv.js';
import type { ScanConfig } from '../scanning/scan-config.js';

/**
 * What "the same port set" means for in-flight deduplication: the protocols and the ports of one
 * shard. Every port means 1-65535 however it was asked for; top-N stays symbolic, since its list
 * lives in the nmap binary. Rates, timeouts and the services phase are not part of it: a second
 * request that differs only in those is still the same work.
 */
export function portsetKey(config: ScanConfig, shard: PortShardJson): string {
  const o = config.openPorts;
  const ports = shard.ports ?? (o.ports !== undefined ? o.ports : o.topPorts !== undefined ? `top:${o.topPorts}` : '1-65535');
  return `${[...o.protocols].sort().join(',')}|${ports}`;
}

/** What "the same command" means for resuming: the whole config and the shard. */
export function configFingerprint(config: ScanConfig, shard: PortShardJson): string {
  return canonicalHash({ config, shard: { index: shard.index, of: shard.of, ports: shard.ports ?? null } });
}

export interface ShardKeys {
  readonly shard: PortShardJson;
  readonly portsetKey: string;
  readonly fingerprint: string;
}

/** The shards of a config with their dedup keys; the app looks up work in flight and done by these. */
export function planKeys(config: ScanConfig): readonly ShardKeys[] {
  return shardPorts(config).map((s) => {
    const shard: PortShardJson = s.ports === undefined ? { index: s.index, of: s.of } : { index: s.index, of: s.of, ports: s.ports };
    return { shard, portsetKey: portsetKey(config, shard), fingerprint: configFingerprint(config, shard) };
  });
}
