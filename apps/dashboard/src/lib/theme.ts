import { signal } from './signal';

export type Theme = 'system' | 'light' | 'dark';
const STORAGE = 'ninefold.theme';

function stored(): Theme {
  try {
    const t = localStorage.getItem(STORAGE);
    return t === 'light' || t === 'dark' ? t : 'system';
  } catch {
    return 'system';
  }
}

/** The chosen theme; "system" follows the operating system's setting. index.html applies it before the first paint. */
export const theme = signal<Theme>(stored());

theme.subscribe((t) => {
  try {
    if (t === 'system') localStorage.removeItem(STORAGE);
    else localStorage.setItem(STORAGE, t);
  } catch {
    // Private windows may refuse storage: the choice lasts until the tab closes.
  }
  if (t === 'system') delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = t;
});

const NEXT: Record<Theme, Theme> = { system: 'dark', dark: 'light', light: 'system' };
export function cycleTheme(): void {
  theme.set(NEXT[theme.value]);
}
