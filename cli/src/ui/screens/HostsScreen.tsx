import { Box, useInput } from 'ink';
import { normalizeHost, type HostView } from '../../api/normalize.js';
import type { ProjectRef } from '../../config/profiles.js';
import { utc } from '../../output/format.js';
import { ErrorLine, FilterLine, Loading, Unavailable } from '../components/Status.js';
import { Table } from '../components/Table.js';
import { useDeps, useTheme } from '../context.js';
import { useListNav } from '../hooks/useListNav.js';
import { usePoll } from '../hooks/usePoll.js';
import { matches, useTextField } from '../hooks/useTextField.js';
import type { ScreenProps } from './ProjectsScreen.js';

const ports = (h: HostView) =>
  h.ports
    .filter((p) => p.state === 'open')
    .map((p) => `${p.port}/${p.proto}${p.service ? ` ${p.service}` : ''}`)
    .join(', ') || '-';

/** The hosts with open ports; `/` filters on IP, hostname, port and service. */
export function HostsScreen({ height, width, active, project, onOpen }: ScreenProps & { project: ProjectRef; onOpen(ip: string): void }) {
  const { api, intervalMs } = useDeps();
  const theme = useTheme();
  const poll = usePoll(() => api.ledger.listHosts(project.id, { hasOpenPorts: true, limit: 1000 }), [project.id], intervalMs);
  const filter = useTextField(active);
  const hosts = (poll.data?.items ?? []).map(normalizeHost).filter((h) => matches(filter.value, h.ip, h.hostnames.join(' '), ports(h)));
  const navActive = active && !filter.editing;
  const [index] = useListNav(hosts.length, navActive);
  useInput(
    (input, key) => {
      if (key.return && hosts[index]) onOpen(hosts[index].ip);
      if (input === 'r') poll.refresh();
    },
    { isActive: navActive },
  );
  if (poll.unavailable) return <Unavailable what="Hosts" />;
  if (!poll.data && poll.error) return <ErrorLine error={poll.error} />;
  if (!poll.data) return <Loading />;
  return (
    <Box flexDirection="column">
      <FilterLine value={filter.value} editing={filter.editing} />
      <Table
        headers={['ip', 'open', 'hostnames', 'last seen', 'ports']}
        rows={hosts.map((h) => [h.ip, { text: String(h.openPortCount), color: theme.ok }, h.hostnames.join(', ') || '-', utc(h.lastSeen), ports(h)])}
        selected={index}
        height={height - (filter.editing || filter.value ? 2 : 1)}
        width={width}
        empty={filter.value ? 'No host matches the filter.' : `No hosts with open ports in '${project.name}' yet: import a report (5) or start a scan.`}
      />
      {poll.error ? <ErrorLine error={poll.error} /> : null}
    </Box>
  );
}
