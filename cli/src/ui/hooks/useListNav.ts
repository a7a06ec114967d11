import { useEffect, useState } from 'react';
import { useInput } from 'ink';

/** The selected row of a list: arrows or j/k, PgUp/PgDn, g/G or Home/End; kept in range as the list changes. */
export function useListNav(count: number, active: boolean, page = 10): [number, (i: number) => void] {
  const [index, setIndex] = useState(0);
  useEffect(() => {
    if (index > 0 && index >= count) setIndex(Math.max(0, count - 1));
  }, [count, index]);
  useInput(
    (input, key) => {
      const last = Math.max(0, count - 1);
      if (key.downArrow || input === 'j') setIndex((i) => Math.min(last, i + 1));
      else if (key.upArrow || input === 'k') setIndex((i) => Math.max(0, i - 1));
      else if (key.pageDown) setIndex((i) => Math.min(last, i + page));
      else if (key.pageUp) setIndex((i) => Math.max(0, i - page));
      else if (key.home || input === 'g') setIndex(0);
      else if (key.end || input === 'G') setIndex(last);
    },
    { isActive: active },
  );
  return [Math.min(index, Math.max(0, count - 1)), setIndex];
}
