import { useCallback, useMemo, useRef, useState } from 'react';
import { Box, Text, useApp, useInput, useWindowSize } from 'ink';
import type { ProjectRef } from '../config/profiles.js';
import { Footer, Header, Help, TABS, type TabName } from './components/Chrome.js';
import { KeyboardContext, useTheme } from './context.js';
import { ChangesScreen } from './screens/ChangesScreen.js';
import { HostDetailScreen } from './screens/HostDetailScreen.js';
import { HostsScreen } from './screens/HostsScreen.js';
import { ImportScreen } from './screens/ImportScreen.js';
import { ProjectsScreen } from './screens/ProjectsScreen.js';
import { ScansScreen } from './screens/ScansScreen.js';
import { WorkersScreen } from './screens/WorkersScreen.js';

export type Route = { readonly name: TabName | 'projects' } | { readonly name: 'host'; readonly ip: string };

const HINTS: Record<Route['name'], string> = {
  projects: '↑↓ move · enter choose · / filter · ? help · q quit',
  hosts: '↑↓ move · enter open · / filter · r refresh · ? help · q quit',
  host: '↑↓ scroll · esc back · r refresh · ? help · q quit',
  scans: '↑↓ select scan · s new scan · r refresh · ? help · q quit',
  workers: '↑↓ move · r refresh · ? help · q quit',
  changes: '↑↓ move · enter open host · / filter · ? help · q quit',
  import: '↑↓ pick · e type path · ←→ mode · enter import · ? help · q quit',
};

/** Screens that need a project send the user to pick one first. */
const NEEDS_PROJECT = new Set<Route['name']>(['hosts', 'host', 'scans', 'changes', 'import']);

export interface AppProps {
  readonly profileName: string;
  readonly initialProject: ProjectRef | null;
  /** Fixed size for tests; otherwise the terminal's. */
  readonly size?: { columns: number; rows: number };
  readonly onQuit?: () => void;
}

/**
 * Routing, global keys and the frame. A stack of routes gives esc its meaning ("back"); switching
 * tabs starts a new stack. The frame is kept one line short of the terminal so ink redraws in place
 * instead of clearing the screen (no flicker).
 */
export function App({ profileName, initialProject, size, onQuit }: AppProps) {
  const { exit } = useApp();
  const theme = useTheme();
  const win = useWindowSize();
  const columns = size?.columns ?? (win.columns || 80);
  const rows = size?.rows ?? (win.rows || 24);
  const [project, setProject] = useState<ProjectRef | null>(initialProject);
  const [stack, setStack] = useState<Route[]>([{ name: initialProject ? 'hosts' : 'projects' }]);
  const [help, setHelp] = useState(false);
  // The ref answers at once; the state re-renders. A key typed right after '/' must already see
  // the claim, before React has re-rendered and re-subscribed the handlers.
  const [claimed, setClaimed] = useState(false);
  const claimedNow = useRef(false);
  const claim = useCallback((on: boolean) => {
    claimedNow.current = on;
    setClaimed(on);
  }, []);
  const keyboard = useMemo(() => ({ claimed, claim }), [claimed, claim]);

  const route = stack[stack.length - 1];
  const go = (r: Route) => setStack([r]);
  const push = (r: Route) => setStack((s) => [...s, r]);

  useInput((input, key) => {
    if (claimedNow.current) return;
    if (help) {
      if (input === '?' || key.escape || input === 'q') setHelp(false);
      return;
    }
    if (input === 'q') {
      onQuit?.();
      return exit();
    }
    if (input === '?') return setHelp(true);
    if (input === 'p') return go({ name: 'projects' });
    const tab = TABS.find((t) => t.key === input);
    if (tab) return go({ name: tab.name });
    if (key.tab) {
      const i = TABS.findIndex((t) => t.name === route.name);
      const next = TABS[(i + (key.shift ? TABS.length - 1 : 1) + TABS.length) % TABS.length];
      return go({ name: next.name });
    }
    if (key.escape && stack.length > 1) setStack((s) => s.slice(0, -1));
  });

  const height = Math.max(5, rows - 4);
  const width = Math.max(40, columns);
  const active = !help && !claimed;
  const fieldActive = !help;
  let body;
  if (help) body = <Help />;
  else if (route.name === 'projects' || (NEEDS_PROJECT.has(route.name) && !project)) {
    body = (
      <ProjectsScreen
        height={height}
        width={width}
        active={fieldActive}
        current={project}
        onPick={(p) => {
          setProject(p);
          go({ name: route.name === 'projects' || route.name === 'host' ? 'hosts' : route.name });
        }}
      />
    );
  } else if (route.name === 'hosts') body = <HostsScreen height={height} width={width} active={fieldActive} project={project!} onOpen={(ip) => push({ name: 'host', ip })} />;
  else if (route.name === 'host') body = <HostDetailScreen height={height} width={width} active={active} project={project!} ip={route.ip} />;
  else if (route.name === 'scans') body = <ScansScreen height={height} width={width} active={active} project={project!} />;
  else if (route.name === 'workers') body = <WorkersScreen height={height} width={width} active={active} />;
  else if (route.name === 'changes') body = <ChangesScreen height={height} width={width} active={fieldActive} project={project!} onOpen={(ip) => push({ name: 'host', ip })} />;
  else body = <ImportScreen height={height} width={width} active={fieldActive} project={project!} />;

  const tab = route.name === 'host' ? 'hosts' : NEEDS_PROJECT.has(route.name) && !project ? 'projects' : route.name;
  return (
    <KeyboardContext.Provider value={keyboard}>
      <Box flexDirection="column" width={width}>
        <Header tab={tab} project={project?.name ?? null} profile={profileName} />
        <Box flexDirection="column" height={height}>
          {body}
        </Box>
        {claimed ? <Text color={theme.accent}>typing · enter keeps · esc cancels</Text> : <Footer hints={help ? 'esc close help' : HINTS[tab === 'projects' ? 'projects' : route.name]} />}
      </Box>
    </KeyboardContext.Provider>
  );
}
