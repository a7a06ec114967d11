import { Box, useInput } from 'ink';
import type { Project } from '../../api/index.js';
import type { ProjectRef } from '../../config/profiles.js';
import { FilterLine, ErrorLine, Loading } from '../components/Status.js';
import { Table } from '../components/Table.js';
import { useDeps, useTheme } from '../context.js';
import { useListNav } from '../hooks/useListNav.js';
import { usePoll } from '../hooks/usePoll.js';
import { matches, useTextField } from '../hooks/useTextField.js';

export interface ScreenProps {
  readonly height: number;
  readonly width: number;
  /** False while the help is open or a field elsewhere has the keyboard. */
  readonly active: boolean;
}

export function ProjectsScreen({ height, width, active, current, onPick }: ScreenProps & { current: ProjectRef | null; onPick(p: ProjectRef): void }) {
  const { api, intervalMs } = useDeps();
  const theme = useTheme();
  const poll = usePoll(() => api.ledger.listProjects(), [], intervalMs);
  const filter = useTextField(active);
  const rows: Project[] = (poll.data?.items ?? []).filter((p) => matches(filter.value, p.name, p.comment, p.id));
  const navActive = active && !filter.editing;
  const [index] = useListNav(rows.length, navActive);
  useInput(
    (input, key) => {
      if (key.return && rows[index]) onPick({ id: rows[index].id, name: rows[index].name });
      if (input === 'r') poll.refresh();
    },
    { isActive: navActive },
  );
  if (!poll.data && poll.error) return <ErrorLine error={poll.error} />;
  if (!poll.data) return <Loading />;
  return (
    <Box flexDirection="column">
      <FilterLine value={filter.value} editing={filter.editing} />
      <Table
        headers={['', 'project', 'members', 'comment']}
        rows={rows.map((p) => [
          p.id === current?.id ? { text: '*', color: theme.accent } : ' ',
          p.name,
          p.members.map((m) => `${m.username ?? m.userId}(${m.role})`).join(', ') || '-',
          p.comment ?? '-',
        ])}
        selected={index}
        height={height - (filter.editing || filter.value ? 2 : 1)}
        width={width}
        empty={filter.value ? 'No project matches the filter.' : 'No projects yet: falcli project create <name>'}
      />
      {poll.error ? <ErrorLine error={poll.error} /> : null}
    </Box>
  );
}
