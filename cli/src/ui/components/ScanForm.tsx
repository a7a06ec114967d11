import { useEffect, useState } from 'react';
import { Box, Text, useInput } from 'ink';
import { PROFILE_NAMES } from '#domain';
import type { ScanRequest } from '../../api/index.js';
import { useKeyboard, useTheme } from '../context.js';

export type ScanDraft = Pick<ScanRequest, 'targets' | 'profile' | 'config'>;

/** Comma- or space-separated targets, and an optional port list laid over the profile. */
export function draftOf(targets: string, ports: string, profile: string): ScanDraft | null {
  const list = targets.split(/[\s,]+/).filter(Boolean);
  if (!list.length) return null;
  return { targets: list, profile, config: ports.trim() ? { openPorts: { ports: ports.trim() } } : undefined };
}

/**
 * Start a scan without leaving the UI: targets, optional ports, a profile (↑/↓). While open the
 * form owns the keyboard; Tab moves between the two fields, Enter starts, Esc closes.
 */
export function ScanForm({ onSubmit, onClose }: { onSubmit(d: ScanDraft): void; onClose(): void }) {
  const theme = useTheme();
  const keyboard = useKeyboard();
  const [targets, setTargets] = useState('');
  const [ports, setPorts] = useState('');
  const [field, setField] = useState<'targets' | 'ports'>('targets');
  const [profile, setProfile] = useState(0);
  useEffect(() => {
    keyboard.claim(true);
    return () => keyboard.claim(false);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);
  useInput((input, key) => {
    const set = field === 'targets' ? setTargets : setPorts;
    if (key.escape) return onClose();
    if (key.tab) return setField((f) => (f === 'targets' ? 'ports' : 'targets'));
    if (key.upArrow) return setProfile((i) => (i + PROFILE_NAMES.length - 1) % PROFILE_NAMES.length);
    if (key.downArrow) return setProfile((i) => (i + 1) % PROFILE_NAMES.length);
    if (key.return) {
      const d = draftOf(targets, ports, PROFILE_NAMES[profile]);
      if (d) onSubmit(d);
      return;
    }
    if (key.backspace || key.delete) return set((v) => v.slice(0, -1));
    if (input && !key.ctrl && !key.meta) set((v) => v + input);
  });
  const line = (name: 'targets' | 'ports', value: string, hint: string) => (
    <Text>
      <Text color={field === name ? theme.accent : theme.muted}>{`  ${name.padEnd(8)}`}</Text>
      {value}
      {field === name ? <Text inverse> </Text> : null}
      {!value && field !== name ? <Text color={theme.muted}>{hint}</Text> : null}
    </Text>
  );
  return (
    <Box flexDirection="column" borderStyle="round" paddingX={1}>
      <Text bold>New scan</Text>
      {line('targets', targets, 'IPs, CIDRs, ranges, hostnames')}
      {line('ports', ports, "the profile's ports")}
      <Text>
        <Text color={theme.muted}>{'  profile '}</Text>
        {PROFILE_NAMES[profile]}
        <Text color={theme.muted}>{'  (↑↓ change)'}</Text>
      </Text>
      <Text color={theme.muted}>tab next field · enter start · esc cancel</Text>
    </Box>
  );
}
