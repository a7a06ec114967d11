import { existsSync, readFileSync } from 'node:fs';
import { parseNmapServices, type TopPortsTable } from '#domain';
import type { JsonLogger } from '#platform';

const USUAL_PATHS = ['/usr/share/nmap/nmap-services', '/usr/local/share/nmap/nmap-services'];

/**
 * nmap's top-ports lists for coverage dedup, read once at start. The list lives in nmap's data, not
 * in this code (its licence keeps it there), so the tasker reads the file nmap itself would use; it
 * can differ a little from a worker's nmap version. Without one, a top-N request counts as covered
 * only on hosts scanned on every port.
 */
export function loadTopPorts(path: string | undefined, logger: JsonLogger): TopPortsTable | undefined {
  if (path === 'off') return undefined;
  const file = path ?? USUAL_PATHS.find((p) => existsSync(p));
  if (file === undefined) {
    logger.info({ msg: 'no nmap-services file: top-N requests are deduplicated only against full-range coverage', tried: USUAL_PATHS });
    return undefined;
  }
  // A path set on purpose that cannot be read is a configuration error, not a quiet fallback.
  const table = parseNmapServices(readFileSync(file, 'utf8'));
  logger.info({ msg: 'top-ports lists loaded for coverage dedup', file });
  return table;
}
