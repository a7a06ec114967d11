import type { ScanConfig } from './scan-config.js';

/**
 * The config a task runs with under a rate budget's share: --max-rate lowered to the share (both
 * phases use openPorts.maxRate), --min-rate lowered with it so nmap is never asked for both more
 * and less than the share. A config already slower than the share keeps its own rate.
 */
export function capScanRate(config: ScanConfig, maxRate: number | undefined): ScanConfig {
  if (maxRate === undefined) return config;
  const o = config.openPorts;
  const rate = o.maxRate === undefined ? maxRate : Math.min(o.maxRate, maxRate);
  const openPorts = { ...o, maxRate: rate, ...(o.minRate !== undefined ? { minRate: Math.min(o.minRate, rate) } : {}) };
  return { ...config, openPorts };
}
