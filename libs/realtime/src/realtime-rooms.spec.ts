import { RealtimeEvent } from './realtime-events.js';
import { parseRooms, roomsFor } from './realtime-rooms.js';

describe('realtime rooms', () => {
  const at = '2026-11-25T10:00:00.000Z';

  it('sends each event to "all" and to the rooms of what it is about', () => {
    expect(roomsFor({ event: RealtimeEvent.InstanceState, payload: { service: 'checkout', id: 'web-1', at } })).toEqual(['all', 'service:checkout']);
    expect(roomsFor({ event: RealtimeEvent.ServiceState, payload: { name: 'checkout', at } })).toEqual(['all', 'services', 'service:checkout']);
    expect(roomsFor({ event: RealtimeEvent.SloUpdate, payload: { service: 'checkout', at } })).toEqual(['all', 'services', 'service:checkout']);
    expect(roomsFor({ event: RealtimeEvent.RunUpdate, payload: { runId: 'r-1', at } })).toEqual(['all', 'run:r-1']);
    expect(roomsFor({ event: RealtimeEvent.IncidentUpdate, payload: { at } })).toEqual(['all', 'incidents']);
    expect(roomsFor({ event: RealtimeEvent.Signal, payload: { service: null, at } })).toEqual(['all', 'signals']);
  });

  it('accepts the known rooms and names each bad one', () => {
    expect(parseRooms(['services', 'service:checkout', 'run:5f0c', 'services'])).toEqual({ rooms: ['services', 'service:checkout', 'run:5f0c'] });
    expect(parseRooms(['service:Checkout', 'nope', 3])).toEqual({
      errors: [
        'rooms[0] "service:Checkout" is not a room: all, services, incidents, signals, service:<name> or run:<id>',
        'rooms[1] "nope" is not a room: all, services, incidents, signals, service:<name> or run:<id>',
        'rooms[2] must be a string',
      ],
    });
    expect(parseRooms([])).toHaveProperty('errors');
    expect(parseRooms('services')).toHaveProperty('errors');
  });
});
