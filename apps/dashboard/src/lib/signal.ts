import { useEffect, useState } from 'preact/hooks';

/** A value that components can follow: `useSignal(s)` re-renders on every `set`. */
export interface Signal<T> {
  readonly value: T;
  set(next: T): void;
  subscribe(fn: (value: T) => void): () => void;
}

export function signal<T>(initial: T): Signal<T> {
  let value = initial;
  const subscribers = new Set<(value: T) => void>();
  return {
    get value() {
      return value;
    },
    set(next: T) {
      if (Object.is(next, value)) return;
      value = next;
      for (const fn of [...subscribers]) fn(value);
    },
    subscribe(fn) {
      subscribers.add(fn);
      return () => subscribers.delete(fn);
    },
  };
}

export function useSignal<T>(s: Signal<T>): T {
  const [, rerender] = useState(0);
  const rendered = s.value;
  useEffect(() => {
    const stop = s.subscribe(() => rerender((n) => n + 1));
    // Changed between this render and the subscription: render again.
    if (!Object.is(s.value, rendered)) rerender((n) => n + 1);
    return stop;
  }, [s]);
  return rendered;
}
