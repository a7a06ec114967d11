import { useRef, useState } from 'react';
import { useInput } from 'ink';
import { useKeyboard } from '../context.js';

export interface TextField {
  readonly value: string;
  readonly editing: boolean;
  set(v: string): void;
}

/**
 * A one-line text field opened by `openKey` (`/` for filters): while open it owns the keyboard;
 * Enter keeps the text, Esc drops it. Esc on a closed field with text clears it.
 */
export function useTextField(active: boolean, openKey = '/', initial = ''): TextField {
  const [value, setValue] = useState(initial);
  const [editing, setEditing] = useState(false);
  // Keys can arrive faster than React re-renders: the ref, set at once, decides where they go.
  const editingNow = useRef(false);
  const keyboard = useKeyboard();
  const edit = (on: boolean) => {
    editingNow.current = on;
    setEditing(on);
    keyboard.claim(on);
  };
  const close = () => edit(false);
  useInput(
    (input, key) => {
      if (!editingNow.current) {
        if (input === openKey) edit(true);
        else if (key.escape && value) setValue('');
        return;
      }
      if (key.return) close();
      else if (key.escape) {
        setValue(initial);
        close();
      } else if (key.backspace || key.delete) setValue((v) => v.slice(0, -1));
      else if (input && !key.ctrl && !key.meta && !key.tab && !key.upArrow && !key.downArrow) setValue((v) => v + input);
    },
    { isActive: active },
  );
  return { value, editing, set: setValue };
}

export const matches = (query: string, ...texts: Array<string | null | undefined>) => !query || texts.some((t) => t?.toLowerCase().includes(query.toLowerCase()));
