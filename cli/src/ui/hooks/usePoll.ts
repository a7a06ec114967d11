import { useCallback, useEffect, useRef, useState } from 'react';
import { ApiError } from '../../api/errors.js';

export interface PollState<T> {
  readonly data: T | undefined;
  readonly error: Error | undefined;
  readonly loading: boolean;
  /** The route does not exist on this server (yet): polling stops, the screen says so. */
  readonly unavailable: boolean;
  readonly updatedAt: number | undefined;
  refresh(): void;
}

export const isUnavailable = (e: unknown) => e instanceof ApiError && e.kind === 'unavailable';

/**
 * Loads now and then every `intervalMs`, keeping the last good data on screen while the next
 * load runs or fails, so a refresh never blanks the view (no flicker). `load = null` pauses.
 */
export function usePoll<T>(load: (() => Promise<T>) | null, deps: readonly unknown[], intervalMs: number): PollState<T> {
  const [state, setState] = useState<Omit<PollState<T>, 'refresh'>>({ data: undefined, error: undefined, loading: load !== null, unavailable: false, updatedAt: undefined });
  const [nonce, setNonce] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  const depsKey = JSON.stringify(deps);
  const lastKey = useRef(depsKey);

  useEffect(() => {
    if (!loadRef.current) return;
    let alive = true;
    let timer: NodeJS.Timeout | undefined;
    // New subject (another project, another host): drop the old data rather than show it as this one's.
    const fresh = lastKey.current !== depsKey;
    lastKey.current = depsKey;
    setState((s) => (fresh ? { data: undefined, error: undefined, loading: true, unavailable: false, updatedAt: undefined } : { ...s, loading: true }));
    const tick = async () => {
      let stop = false;
      try {
        const data = await loadRef.current!();
        if (alive) setState({ data, error: undefined, loading: false, unavailable: false, updatedAt: Date.now() });
      } catch (e) {
        stop = isUnavailable(e);
        if (alive) setState((s) => ({ ...s, error: e as Error, loading: false, unavailable: stop }));
      }
      if (alive && !stop) timer = setTimeout(tick, intervalMs);
    };
    void tick();
    return () => {
      alive = false;
      clearTimeout(timer);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [depsKey, intervalMs, nonce, load === null]);

  const refresh = useCallback(() => setNonce((n) => n + 1), []);
  return { ...state, refresh };
}
