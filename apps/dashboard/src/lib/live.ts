import { io, type Socket } from 'socket.io-client';
import { session } from './session';
import { signal } from './signal';

export type LiveStatus = 'connecting' | 'live' | 'offline';

/** Whether live updates are flowing: shown in the header, so nobody trusts a frozen screen. */
export const liveStatus = signal<LiveStatus>('connecting');

type Handler = (payload: Record<string, unknown>) => void;
type SnapshotHandler = (snapshot: Record<string, unknown>) => void;

interface Subscription {
  rooms: string[];
  events: Record<string, Handler>;
  /** Called with the current state of the rooms on every (re)subscribe: a reconnect leaves no gap. */
  onSnapshot?: SnapshotHandler;
  /** false: the page reads the state over REST itself; the server need not compute a snapshot. */
  snapshot?: boolean;
}

let socket: Socket | null = null;
const subscriptions = new Set<Subscription>();

function roomsWanted(): string[] {
  return [...new Set([...subscriptions].flatMap((s) => s.rooms))];
}

function resubscribe(sub?: Subscription): void {
  if (!socket?.connected) return;
  const targets = sub ? [sub] : [...subscriptions];
  const rooms = sub ? sub.rooms : roomsWanted();
  if (rooms.length === 0) return;
  const snapshot = targets.some((t) => t.snapshot !== false);
  socket.emit('subscribe', { rooms, snapshot }, (ack: { ok: boolean; snapshot?: Record<string, unknown> }) => {
    if (!ack?.ok) return;
    for (const t of targets) if (subscriptions.has(t)) t.onSnapshot?.(ack.snapshot ?? {});
  });
}

function connect(key: string): Socket {
  const s = io({ path: '/ws', auth: { token: key }, transports: ['websocket'], reconnectionDelayMax: 5_000 });
  liveStatus.set('connecting');
  s.on('connect', () => {
    liveStatus.set('live');
    resubscribe();
  });
  s.on('disconnect', () => liveStatus.set('offline'));
  s.on('connect_error', () => liveStatus.set('offline'));
  s.on('error', (e: { statusCode?: number }) => {
    if (e?.statusCode === 401) session.signOut('Your API key is no longer accepted. Sign in again.');
  });
  s.onAny((event: string, payload: Record<string, unknown>) => {
    for (const sub of subscriptions) sub.events[event]?.(payload);
  });
  return s;
}

session.subscribe((s) => {
  socket?.disconnect();
  socket = s ? connect(s.key) : null;
});

/**
 * Follow rooms (see libs/realtime/src/realtime-rooms.ts) while a page shows
 * them; returns the function that stops. One socket serves every page.
 */
export function follow(sub: Subscription): () => void {
  const key = session.value?.key;
  if (!key) return () => undefined;
  socket ??= connect(key);
  subscriptions.add(sub);
  resubscribe(sub);
  return () => {
    subscriptions.delete(sub);
    const still = new Set(roomsWanted());
    const gone = sub.rooms.filter((r) => !still.has(r));
    if (gone.length > 0 && socket?.connected) socket.emit('unsubscribe', { rooms: gone });
  };
}
