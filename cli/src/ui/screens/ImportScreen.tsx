import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { useMemo, useState } from 'react';
import { Box, Text, useInput } from 'ink';
import { IMPORT_MODES, type ImportMode } from '#events';
import type { ProjectRef } from '../../config/profiles.js';
import { bytes } from '../../output/format.js';
import { formatProgress } from '../../output/progress.js';
import { Table } from '../components/Table.js';
import { useDeps, useTheme } from '../context.js';
import { useImport } from '../hooks/useImport.js';
import { useListNav } from '../hooks/useListNav.js';
import { useTextField } from '../hooks/useTextField.js';
import type { ScreenProps } from './ProjectsScreen.js';

/** nmap reports next to where falcli ui was started, newest first. */
export function reportsIn(dir: string): Array<{ name: string; size: number; mtime: number }> {
  try {
    return readdirSync(dir)
      .filter((f) => f.toLowerCase().endsWith('.xml'))
      .flatMap((name) => {
        try {
          const st = statSync(join(dir, name));
          return st.isFile() ? [{ name, size: st.size, mtime: st.mtimeMs }] : [];
        } catch {
          return [];
        }
      })
      .sort((a, b) => b.mtime - a.mtime);
  } catch {
    return [];
  }
}

const MODE_HELP: Record<ImportMode, string> = {
  insert: 'add new hosts; leave known hosts alone',
  append: 'also add new open ports to known hosts',
  update: 'also refresh service details; never close ports',
  replace: 'like update, and close ports the report shows closed or absent',
};

/** Pick a report (from the list, or type a path with e), pick a mode (←/→), enter: watch it upload and apply. */
export function ImportScreen({ height, width, active, project }: ScreenProps & { project: ProjectRef }) {
  const { api, cwd } = useDeps();
  const theme = useTheme();
  const files = useMemo(() => reportsIn(cwd), [cwd]);
  const path = useTextField(active, 'e');
  const [mode, setMode] = useState<ImportMode>('insert');
  const imp = useImport(api, project);
  const picking = imp.state.phase === 'idle' || imp.state.phase === 'done' || imp.state.phase === 'failed';
  const navActive = active && !path.editing && picking;
  const [index] = useListNav(files.length, navActive);
  useInput(
    (_input, key) => {
      const i = IMPORT_MODES.indexOf(mode);
      if (key.rightArrow) setMode(IMPORT_MODES[(i + 1) % IMPORT_MODES.length]);
      else if (key.leftArrow) setMode(IMPORT_MODES[(i + IMPORT_MODES.length - 1) % IMPORT_MODES.length]);
      else if (key.return) {
        const file = path.value || (files[index] ? join(cwd, files[index].name) : '');
        if (file) void imp.start(file, mode);
      }
    },
    { isActive: navActive },
  );

  const s = imp.state;
  const progressWidth = Math.min(width - 4, 76);
  return (
    <Box flexDirection="column">
      <Text>
        {'  mode  '}
        {IMPORT_MODES.map((m) => (
          <Text key={m} inverse={m === mode} color={m === mode ? undefined : theme.muted}>{` ${m} `}</Text>
        ))}
        <Text color={theme.muted}>{`  ${MODE_HELP[mode]}`}</Text>
      </Text>
      <Text>
        {'  file  '}
        {path.editing || path.value ? (
          <Text>
            {path.value}
            {path.editing ? <Text inverse> </Text> : <Text color={theme.muted}>{'  (esc: back to the list)'}</Text>}
          </Text>
        ) : (
          <Text color={theme.muted}>pick below, or press e to type a path</Text>
        )}
      </Text>
      {s.phase === 'uploading' || s.phase === 'applying' ? (
        <Box flexDirection="column" marginTop={1}>
          <Text>{`  ${formatProgress({ done: s.sent, total: s.total, elapsedMs: Date.now() - s.startedAt, unit: 'bytes', label: 'upload' }, progressWidth)}`}</Text>
          {s.notice ? <Text color={theme.warn}>{`  ${s.notice}`}</Text> : null}
          {s.phase === 'applying' ? <Text color={theme.warn}>{`  applying import ${s.job?.importId ?? ''}…`}</Text> : null}
        </Box>
      ) : null}
      {s.phase === 'done' && s.job ? (
        <Box flexDirection="column" marginTop={1}>
          {s.job.status === 'duplicate' ? (
            <Text color={theme.warn}>{'  Already imported into this project: nothing changed.'}</Text>
          ) : (
            <Text color={theme.ok}>{`  Imported ${s.file?.split('/').pop() ?? ''} (${s.job.importId})`}</Text>
          )}
          {s.job.counts ? (
            <Text>{`  hosts +${s.job.counts.hostsCreated} created, ${s.job.counts.hostsUpdated} updated, ${s.job.counts.hostsUnchanged} unchanged · ports +${s.job.counts.portsOpened} opened, ${s.job.counts.portsClosed} closed · ${s.job.counts.changes} changes`}</Text>
          ) : null}
        </Box>
      ) : null}
      {s.phase === 'failed' ? (
        <Box marginTop={1}>
          <Text color={theme.error} wrap="truncate-end">{`  ${s.error ?? 'failed'}`}</Text>
        </Box>
      ) : null}
      {picking ? (
        <Box marginTop={1}>
          <Table
            headers={['report', 'size']}
            rows={files.map((f) => [f.name, bytes(f.size)])}
            selected={path.value ? -1 : index}
            height={Math.max(2, height - 7)}
            width={width}
            empty={`No .xml files in ${cwd}: press e and type a path.`}
          />
        </Box>
      ) : null}
    </Box>
  );
}
