import { RealtimeEvent, type RealtimeMessage } from './realtime-events.js';

/**
 * socket.io rooms a client can subscribe to, so that a dashboard showing one
 * service does not receive the events of 10,000 others:
 *
 *   all             every event (what a client gets until it subscribes)
 *   services        service.state of every service (the overview), slo.update, breaker.state
 *   service:<name>  everything about one service: its instances, its state, SLOs, breakers, signals
 *   run:<id>        run.update of one runbook run
 *   incidents       incident.update
 *   signals         signals (partitions, consensus trouble, ingress problems)
 */
export const ROOM_ALL = 'all';

const NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;
const ID = /^[0-9A-Za-z_-]{1,64}$/;
/** A client may follow at most this many rooms at once. */
export const MAX_ROOMS = 100;

/** The rooms an event goes to (a client in several of them still gets it once). */
export function roomsFor(message: RealtimeMessage): string[] {
  const p = message.payload;
  const service = typeof p.service === 'string' ? p.service : undefined;
  const rooms = [ROOM_ALL];
  switch (message.event) {
    case RealtimeEvent.InstanceState:
      if (service) rooms.push(`service:${service}`);
      break;
    case RealtimeEvent.ServiceState:
      rooms.push('services');
      if (typeof p.name === 'string') rooms.push(`service:${p.name}`);
      break;
    case RealtimeEvent.SloUpdate:
    case RealtimeEvent.BreakerState:
      rooms.push('services');
      if (service) rooms.push(`service:${service}`);
      break;
    case RealtimeEvent.RunUpdate: {
      const id = typeof p.runId === 'string' ? p.runId : typeof p.id === 'string' ? p.id : undefined;
      if (id) rooms.push(`run:${id}`);
      break;
    }
    case RealtimeEvent.IncidentUpdate:
      rooms.push('incidents');
      if (service) rooms.push(`service:${service}`);
      break;
    case RealtimeEvent.Signal:
      rooms.push('signals');
      if (service) rooms.push(`service:${service}`);
      break;
  }
  return rooms;
}

/** Validates a subscription request: the rooms, or every problem with them. */
export function parseRooms(value: unknown): { rooms: string[] } | { errors: string[] } {
  if (!Array.isArray(value) || value.length === 0) return { errors: ['rooms must be a non-empty list, e.g. ["services", "service:checkout", "run:<id>"]'] };
  if (value.length > MAX_ROOMS) return { errors: [`at most ${MAX_ROOMS} rooms at once`] };
  const errors: string[] = [];
  const rooms: string[] = [];
  value.forEach((r, i) => {
    if (typeof r !== 'string') {
      errors.push(`rooms[${i}] must be a string`);
      return;
    }
    const [kind, arg, ...rest] = r.split(':');
    const ok =
      rest.length === 0 &&
      ((arg === undefined && ['all', 'services', 'incidents', 'signals'].includes(kind)) || (kind === 'service' && arg !== undefined && NAME.test(arg)) || (kind === 'run' && arg !== undefined && ID.test(arg)));
    if (ok) rooms.push(r);
    else errors.push(`rooms[${i}] ${JSON.stringify(r)} is not a room: all, services, incidents, signals, service:<name> or run:<id>`);
  });
  return errors.length > 0 ? { errors } : { rooms: [...new Set(rooms)] };
}
