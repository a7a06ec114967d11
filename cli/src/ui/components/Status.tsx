import { Box, Text } from 'ink';
import { ApiError } from '../../api/errors.js';
import { useTheme } from '../context.js';

/** A screen whose route this server does not serve: say so instead of failing. */
export function Unavailable({ what }: { what: string }) {
  const theme = useTheme();
  return (
    <Box flexDirection="column" paddingLeft={2}>
      <Text color={theme.warn}>{what}: not available on this server yet.</Text>
      <Text color={theme.muted}>The server does not serve this route; update it, or use the other screens (1-5).</Text>
    </Box>
  );
}

/** A failed load, with the same words and hint the commands print. */
export function ErrorLine({ error }: { error: Error }) {
  const theme = useTheme();
  const hint = error instanceof ApiError ? error.hint : undefined;
  return (
    <Box flexDirection="column" paddingLeft={2}>
      <Text color={theme.error} wrap="truncate-end">
        {error.message}
      </Text>
      {hint ? (
        <Text color={theme.muted} wrap="truncate-end">
          {hint}
        </Text>
      ) : null}
    </Box>
  );
}

export function Loading() {
  const theme = useTheme();
  return <Text color={theme.muted}>{'  loading…'}</Text>;
}

/** `[#####.....]` as a text bar: ink renders it the same everywhere, even without colour. */
export function Bar({ ratio, width }: { ratio: number; width: number }) {
  const theme = useTheme();
  const filled = Math.round(Math.min(1, Math.max(0, ratio)) * width);
  return (
    <Text>
      [<Text color={theme.ok}>{'#'.repeat(filled)}</Text>
      <Text color={theme.muted}>{'.'.repeat(width - filled)}</Text>]
    </Text>
  );
}

export function FilterLine({ value, editing }: { value: string; editing: boolean }) {
  const theme = useTheme();
  if (!editing && !value) return null;
  return (
    <Text>
      <Text color={theme.accent}>{'  / '}</Text>
      {value}
      {editing ? <Text inverse> </Text> : <Text color={theme.muted}>{'   (esc clears)'}</Text>}
    </Text>
  );
}
