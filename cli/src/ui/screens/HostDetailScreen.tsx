import { Box, Text, useInput } from 'ink';
import { banner, normalizeChange, normalizeHost } from '../../api/normalize.js';
import type { ProjectRef } from '../../config/profiles.js';
import { dash, utc } from '../../output/format.js';
import { ErrorLine, Loading } from '../components/Status.js';
import { fit } from '../components/Table.js';
import { useDeps, useTheme, type UiTheme } from '../context.js';
import { useListNav } from '../hooks/useListNav.js';
import { usePoll } from '../hooks/usePoll.js';
import type { ScreenProps } from './ProjectsScreen.js';

interface Line {
  readonly text: string;
  readonly color?: string;
  readonly bold?: boolean;
}

const stateColor = (theme: UiTheme, state: string) => (state === 'open' ? theme.ok : state.startsWith('closed') ? theme.error : theme.warn);

/** Everything about one host as lines, so the screen can scroll them at any height. */
export function hostLines(raw: unknown, history: unknown[], theme: UiTheme, width: number): Line[] {
  const h = normalizeHost(raw);
  const lines: Line[] = [
    { text: h.ip, bold: true },
    { text: `status ${dash(h.status)}   os ${dash(h.os)}` },
    { text: `hostnames ${dash(h.hostnames)}` },
    { text: `seen ${utc(h.firstSeen)} → ${utc(h.lastSeen)}`, color: theme.muted },
    { text: '' },
    { text: `${'PORT'.padEnd(11)} ${'STATE'.padEnd(13)} ${'SERVICE'.padEnd(14)} BANNER`, color: theme.muted },
  ];
  if (!h.ports.length) lines.push({ text: 'No ports.', color: theme.muted });
  for (const p of h.ports) {
    lines.push({ text: fit(`${`${p.port}/${p.proto}`.padEnd(11)} ${p.state.padEnd(13)} ${dash(p.service).padEnd(14)} ${banner(p)}`, width), color: stateColor(theme, p.state) });
    for (const s of p.scripts) {
      const [first, ...rest] = s.output.trim().split('\n');
      lines.push({ text: fit(`    ${s.id}: ${first ?? ''}`, width), color: theme.muted });
      for (const r of rest.slice(0, 6)) lines.push({ text: fit(`      ${r.trim()}`, width), color: theme.muted });
      if (rest.length > 6) lines.push({ text: `      … ${rest.length - 6} more line(s)`, color: theme.muted });
    }
  }
  for (const s of h.hostScripts) lines.push({ text: fit(`host script ${s.id}: ${s.output.trim().split('\n')[0] ?? ''}`, width), color: theme.muted });
  lines.push({ text: '' }, { text: 'HISTORY (newest first)', color: theme.muted });
  if (!history.length) lines.push({ text: 'No changes recorded.', color: theme.muted });
  for (const c of history.map(normalizeChange)) {
    const where = c.port === null ? 'host' : `${c.port}/${c.proto ?? 'tcp'}`;
    lines.push({ text: fit(`${utc(c.at)}  ${where.padEnd(9)} ${c.field.padEnd(16)} ${dash(c.old)} → ${dash(c.new)}`, width) });
  }
  return lines;
}

export function HostDetailScreen({ height, width, active, project, ip }: ScreenProps & { project: ProjectRef; ip: string }) {
  const { api, intervalMs } = useDeps();
  const theme = useTheme();
  const host = usePoll(() => api.ledger.getHost(project.id, ip), [project.id, ip], intervalMs);
  // History is a nicety: where the route is missing the detail still shows.
  const history = usePoll(() => api.ledger.history(project.id, { ip, limit: 50 }), [project.id, ip], intervalMs);
  const lines = host.data ? hostLines(host.data, history.data?.items ?? [], theme, width - 2) : [];
  const visible = Math.max(1, height - 1);
  const [offset] = useListNav(Math.max(1, lines.length - visible + 1), active, visible);
  useInput(
    (input) => {
      if (input === 'r') {
        host.refresh();
        history.refresh();
      }
    },
    { isActive: active },
  );
  if (!host.data && host.error) return <ErrorLine error={host.error} />;
  if (!host.data) return <Loading />;
  return (
    <Box flexDirection="column">
      {lines.slice(offset, offset + visible).map((l, i) => (
        <Text key={i} color={l.color} bold={l.bold} wrap="truncate">
          {` ${l.text}`}
        </Text>
      ))}
      {lines.length > visible ? <Text color={theme.muted}>{`  lines ${offset + 1}-${Math.min(lines.length, offset + visible)} of ${lines.length} (j/k scroll)`}</Text> : null}
    </Box>
  );
}
