import { Box, Text } from 'ink';
import { useTheme } from '../context.js';

export const TABS = [
  { key: '1', name: 'hosts', label: 'Hosts' },
  { key: '2', name: 'scans', label: 'Scans' },
  { key: '3', name: 'workers', label: 'Workers' },
  { key: '4', name: 'changes', label: 'Changes' },
  { key: '5', name: 'import', label: 'Import' },
] as const;

export type TabName = (typeof TABS)[number]['name'];

export function Header({ tab, project, profile }: { tab: TabName | 'projects'; project: string | null; profile: string }) {
  const theme = useTheme();
  return (
    <Box flexDirection="column">
      <Text wrap="truncate">
        <Text bold>falcli</Text>
        <Text color={theme.muted}>{` · ${profile} · `}</Text>
        <Text color={project ? theme.accent : theme.warn}>{project ?? 'no project (p to pick)'}</Text>
      </Text>
      <Text wrap="truncate">
        {TABS.map((t) => (
          <Text key={t.key} inverse={t.name === tab} color={t.name === tab ? undefined : theme.muted}>
            {` ${t.key} ${t.label} `}
          </Text>
        ))}
        <Text inverse={tab === 'projects'} color={tab === 'projects' ? undefined : theme.muted}>
          {' p Projects '}
        </Text>
      </Text>
    </Box>
  );
}

export function Footer({ hints }: { hints: string }) {
  const theme = useTheme();
  return (
    <Text color={theme.muted} wrap="truncate">
      {hints}
    </Text>
  );
}

const HELP: ReadonlyArray<readonly [string, string]> = [
  ['1-5, tab', 'switch screen: hosts, scans, workers, changes, import'],
  ['p', 'pick the project'],
  ['↑ ↓  j k', 'move'],
  ['PgUp PgDn  g G', 'page, first, last'],
  ['enter', 'open / choose'],
  ['esc', 'back, or clear the filter'],
  ['/', 'filter the list (enter keeps it, esc drops it)'],
  ['s', 'start a scan (on the scans screen)'],
  ['e', 'type a report path (on the import screen)'],
  ['r', 'refresh now'],
  ['?', 'this help'],
  ['q', 'quit'],
];

export function Help() {
  const theme = useTheme();
  return (
    <Box flexDirection="column" borderStyle="round" paddingX={1}>
      <Text bold>Keys</Text>
      {HELP.map(([k, v]) => (
        <Text key={k}>
          <Text color={theme.accent}>{k.padEnd(16)}</Text>
          {v}
        </Text>
      ))}
      <Text color={theme.muted}>? or esc closes this help</Text>
    </Box>
  );
}
