import { useRef } from 'react';
import { Box, useInput } from 'ink';
import { normalizeChange } from '../../api/normalize.js';
import type { ProjectRef } from '../../config/profiles.js';
import { dash, utc } from '../../output/format.js';
import { ErrorLine, FilterLine, Loading, Unavailable } from '../components/Status.js';
import { Table } from '../components/Table.js';
import { useDeps, useTheme } from '../context.js';
import { useListNav } from '../hooks/useListNav.js';
import { usePoll } from '../hooks/usePoll.js';
import { matches, useTextField } from '../hooks/useTextField.js';
import type { ScreenProps } from './ProjectsScreen.js';

/** The project's history, newest first, refreshed by polling; rows that arrived while watching are marked +. */
export function ChangesScreen({ height, width, active, project, onOpen }: ScreenProps & { project: ProjectRef; onOpen(ip: string): void }) {
  const { api, intervalMs } = useDeps();
  const theme = useTheme();
  const poll = usePoll(() => api.ledger.history(project.id, { limit: 200 }), [project.id], intervalMs);
  const seen = useRef<Set<string> | null>(null);
  const filter = useTextField(active);
  const raw = poll.data?.items ?? [];
  const keyOf = (r: Record<string, unknown>) => `${String(r.eventId ?? '')}|${String(r.field)}|${String(r.port)}|${String(r.key ?? '')}|${JSON.stringify(r.new)}`;
  // The first load is the baseline: only what comes after it is "new".
  if (poll.data && seen.current === null) seen.current = new Set(raw.map(keyOf));
  const rows = raw
    .map((r) => ({ change: normalizeChange(r), fresh: seen.current !== null && !seen.current.has(keyOf(r)) }))
    .filter(({ change: c }) => matches(filter.value, c.ip, c.field, c.old, c.new, c.port === null ? null : String(c.port)));
  const navActive = active && !filter.editing;
  const [index] = useListNav(rows.length, navActive);
  useInput(
    (input, key) => {
      if (key.return && rows[index]) onOpen(rows[index].change.ip);
      if (input === 'r') poll.refresh();
    },
    { isActive: navActive },
  );
  if (poll.unavailable) return <Unavailable what="Changes" />;
  if (!poll.data && poll.error) return <ErrorLine error={poll.error} />;
  if (!poll.data) return <Loading />;
  return (
    <Box flexDirection="column">
      <FilterLine value={filter.value} editing={filter.editing} />
      <Table
        headers={['', 'observed', 'ip', 'port', 'change', 'old → new']}
        rows={rows.map(({ change: c, fresh }) => [
          fresh ? { text: '+', color: theme.accent } : ' ',
          utc(c.at),
          c.ip,
          c.port === null ? '-' : `${c.port}/${c.proto ?? 'tcp'}`,
          c.field,
          { text: `${dash(c.old)} → ${dash(c.new)}`, color: c.new === null ? theme.error : c.old === null ? theme.ok : undefined },
        ])}
        selected={index}
        height={height - (filter.editing || filter.value ? 2 : 1)}
        width={width}
        empty={filter.value ? 'No change matches the filter.' : `No changes in '${project.name}' yet.`}
      />
      {poll.error ? <ErrorLine error={poll.error} /> : null}
    </Box>
  );
}
