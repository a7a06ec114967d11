import { Box, useInput } from 'ink';
import { ago, dash } from '../../output/format.js';
import { ErrorLine, Loading, Unavailable } from '../components/Status.js';
import { Table } from '../components/Table.js';
import { useDeps, useTheme } from '../context.js';
import { useListNav } from '../hooks/useListNav.js';
import { usePoll } from '../hooks/usePoll.js';
import type { ScreenProps } from './ProjectsScreen.js';

export function WorkersScreen({ height, width, active }: ScreenProps) {
  const { api, intervalMs } = useDeps();
  const theme = useTheme();
  const poll = usePoll(() => api.tasker.listWorkers(), [], intervalMs);
  const workers = poll.data?.items ?? [];
  const [index] = useListNav(workers.length, active);
  useInput(
    (input) => {
      if (input === 'r') poll.refresh();
    },
    { isActive: active },
  );
  if (poll.unavailable) return <Unavailable what="Workers" />;
  if (!poll.data && poll.error) return <ErrorLine error={poll.error} />;
  if (!poll.data) return <Loading />;
  return (
    <Box flexDirection="column">
      <Table
        headers={['worker', 'egress ip', 'version', 'last seen', 'current task']}
        rows={workers.map((w) => [w.workerId, dash(w.egressIp), dash(w.version), { text: ago(w.lastSeen), color: theme.ok }, dash(w.currentTask)])}
        selected={index}
        height={height}
        width={width}
        empty="No workers online."
      />
      {poll.error ? <ErrorLine error={poll.error} /> : null}
    </Box>
  );
}
