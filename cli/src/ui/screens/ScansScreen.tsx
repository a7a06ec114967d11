import { useEffect, useState } from 'react';
import { Box, Text, useInput } from 'ink';
import type { Scan } from '../../api/index.js';
import type { ProjectRef } from '../../config/profiles.js';
import { clock, dash, utc } from '../../output/format.js';
import { ScanForm, type ScanDraft } from '../components/ScanForm.js';
import { Bar, ErrorLine, Loading, Unavailable } from '../components/Status.js';
import { Table } from '../components/Table.js';
import { useDeps, useKeyboard, useTheme, type UiTheme } from '../context.js';
import { useListNav } from '../hooks/useListNav.js';
import { usePoll } from '../hooks/usePoll.js';
import type { ScreenProps } from './ProjectsScreen.js';

export function scanProgress(s: Scan): { finished: number; total: number } {
  const c = s.counts ?? {};
  const finished = (c.done ?? 0) + (c.failed ?? 0) + (c.cancelled ?? 0);
  return { finished, total: c.total ?? finished + (c.queued ?? 0) + (c.running ?? 0) };
}

const statusColor = (theme: UiTheme, s?: string) => (s === 'done' || s === 'completed' ? theme.ok : s === 'failed' || s === 'cancelled' ? theme.error : theme.warn);

/** Every scan of the project with its progress; below, the running targets of the selected one. */
export function ScansScreen({ height, width, active, project }: ScreenProps & { project: ProjectRef }) {
  const { api, intervalMs } = useDeps();
  const theme = useTheme();
  const list = usePoll(() => api.tasker.listScans(project.id), [project.id], intervalMs);
  const scans = list.data?.items ?? [];
  const [form, setForm] = useState(false);
  const keyboard = useKeyboard();
  const [message, setMessage] = useState<{ text: string; error: boolean } | null>(null);
  const [index, setIndex] = useListNav(scans.length, active && !form);
  const selected = scans[index];
  const detail = usePoll(selected ? () => api.tasker.getScan(project.id, selected.scanId) : null, [project.id, selected?.scanId], intervalMs);
  // The list and the detail poll apart; when the list shows the selected scan moved on, fetch its
  // detail now rather than show a finished scan with a running target for a whole interval.
  const listed = selected ? `${selected.status}|${JSON.stringify(selected.counts)}` : '';
  useEffect(() => {
    if (listed) detail.refresh();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [listed]);
  useInput(
    (input) => {
      if (input === 'r') list.refresh();
      if (input === 's' && !list.unavailable) {
        keyboard.claim(true);
        setMessage(null);
        setForm(true);
      }
    },
    { isActive: active && !form },
  );
  const start = async (d: ScanDraft) => {
    setForm(false);
    setMessage({ text: `starting a scan of ${d.targets?.join(', ') ?? 'the project’s gaps'}…`, error: false });
    try {
      const scan = await api.tasker.startScan(project.id, d);
      const s = scan.summary ?? {};
      setMessage({ text: `Scan ${scan.scanId.slice(0, 8)} started: ${s.accepted ?? '?'} address(es) accepted, ${s.queued ?? '?'} queued.`, error: false });
      setIndex(0);
      list.refresh();
    } catch (e) {
      setMessage({ text: (e as Error).message, error: true });
    }
  };
  if (form) return <ScanForm onSubmit={(d) => void start(d)} onClose={() => setForm(false)} />;
  if (list.unavailable) return <Unavailable what="Scans" />;
  if (!list.data && list.error) return <ErrorLine error={list.error} />;
  if (!list.data) return <Loading />;
  const current = detail.data?.scanId === selected?.scanId ? (detail.data ?? selected) : selected;
  const running = current?.running ?? [];
  const prog = current ? scanProgress(current) : { finished: 0, total: 0 };
  const tableHeight = Math.max(3, Math.floor(height / 2));
  const now = Date.now();
  return (
    <Box flexDirection="column">
      {message ? (
        <Text color={message.error ? theme.error : theme.ok} wrap="truncate-end">
          {`  ${message.text}`}
        </Text>
      ) : null}
      <Table
        headers={['scan', 'status', 'progress', 'done/total', 'failed', 'created']}
        rows={scans.map((s) => {
          const { finished, total } = scanProgress(s);
          const filled = total ? Math.round((finished / total) * 12) : 0;
          return [s.scanId.slice(0, 8), { text: dash(s.status), color: statusColor(theme, s.status) }, `[${'#'.repeat(filled)}${'.'.repeat(12 - filled)}]`, `${finished}/${total}`, String(s.counts?.failed ?? 0), utc(s.createdAt)];
        })}
        selected={index}
        height={tableHeight}
        width={width}
        empty={`No scans in '${project.name}' yet: press s to start one.`}
      />
      {selected && current ? (
        <Box flexDirection="column" marginTop={1}>
          <Text wrap="truncate">
            <Text bold>{`  ${selected.scanId.slice(0, 8)}`}</Text>
            {'  '}
            <Bar ratio={prog.total ? prog.finished / prog.total : 0} width={20} />
            <Text color={theme.muted}>{`  ${prog.finished}/${prog.total} · queued ${current.counts?.queued ?? 0} · running ${current.counts?.running ?? 0} · failed ${current.counts?.failed ?? 0}`}</Text>
          </Text>
          <Table
            headers={['running target', 'worker', 'started', 'elapsed']}
            rows={running.map((t) => [t.ip, dash(t.workerId), utc(t.startedAt), t.startedAt ? clock(now - new Date(t.startedAt).getTime()) : '-'])}
            selected={-1}
            height={Math.max(2, height - tableHeight - 3)}
            width={width}
            empty="No running targets."
          />
        </Box>
      ) : null}
      {list.error ? <ErrorLine error={list.error} /> : null}
    </Box>
  );
}
