/**
 * The gossip wire format: the message types, the strict datagram decoder and
 * the encoder. docs/gossip.md describes it with an example of each message.
 *
 * A datagram is one JSON object (UTF-8, no whitespace), optionally preceded by
 * 64 lowercase hex characters of HMAC-SHA256(secret, json) when the group has
 * a shared secret. Every string on the wire is printable ASCII without space,
 * `"` or `\`, and bounded in length, so a message's encoded size is simply the
 * sum of its parts and the membership can pack datagrams to a byte budget
 * without trial encoding.
 *
 * Pure apart from `node:crypto` for the MAC: no I/O, never throws on input.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** Version of the envelope; a datagram with any other `v` is dropped. */
export const PROTOCOL_VERSION = 1;

/** No datagram (MAC included) is larger than this: it fits an Ethernet MTU with IP and UDP headers. */
export const MAX_DATAGRAM_BYTES = 1400;

/** Length of the MAC prefix (hex HMAC-SHA256) when a secret is configured. */
export const MAC_HEX_LENGTH = 64;

/** Longest member id, group name and gossip address accepted. */
export const MAX_ID_LENGTH = 64;
export const MAX_GROUP_LENGTH = 64;
export const MAX_GOSSIP_ADDRESS_LENGTH = 64;
/** Longest relay URL accepted (opaque to gossip; the agent's HTTP relay endpoint). */
export const MAX_RELAY_URL_LENGTH = 200;
/** Most entries accepted in one `members` or `rumours` array (a 1,400-byte datagram holds far fewer). */
export const MAX_ENTRIES_PER_ARRAY = 64;

/**
 * A member's state as gossip sees it.
 * - `alive`: answering probes (or not yet found silent).
 * - `suspect`: a probe, direct and indirect, went unanswered; it may still refute.
 * - `dead`: suspect for longer than the suspicion timeout.
 * - `left`: announced it was leaving (graceful shutdown).
 */
export type MemberState = 'alive' | 'suspect' | 'dead' | 'left';
export const MEMBER_STATES: readonly MemberState[] = Object.freeze(['alive', 'suspect', 'dead', 'left'] as const);

/** One member as it travels on the wire: an entry of a push-pull digest, and a piggybacked rumour. */
export interface WireMember {
  /** The member's id (unique in the group). */
  id: string;
  /** Where its gossip socket listens, `host:port`. */
  gossip: string;
  /** Its HTTP relay endpoint, opaque to gossip; absent if it does not relay. */
  relayUrl?: string;
  /** Incarnation: raised only by the member itself, to refute a suspicion or after a restart. */
  inc: number;
  /** Heartbeat counter: raised by the member itself every protocol period and on each change of its own data. */
  hb: number;
  state: MemberState;
  /** Whether the member currently reaches the control plane. */
  cp: boolean;
}

/** Who sent a message. */
export interface Sender {
  id: string;
  gossip: string;
}

/** What every message carries. */
export interface Envelope {
  v: typeof PROTOCOL_VERSION;
  /** The gossip group; a datagram of another group is dropped, so two groups can share a network. */
  group: string;
  from: Sender;
  /** State changes being spread, newest first. */
  rumours: WireMember[];
}

/** The type-specific part of a message. */
export type MessageBody =
  /** Direct probe of `target` (its id); answered by an `ack` with the same `seq`. */
  | { type: 'ping'; seq: number; target: string }
  /** Ask the receiver to ping `target` for the sender and forward the ack (SWIM indirect probe). */
  | { type: 'ping-req'; seq: number; target: { id: string; gossip: string } }
  /** Answer to a `ping`, or an ack forwarded by the member a `ping-req` went to. */
  | { type: 'ack'; seq: number }
  /**
   * Push-pull request: the sender's entries whose ids are in [lo, hi) (hi
   * null = no upper bound). The receiver merges them and answers with a
   * `sync-reply` holding its entries in the same range that are newer or that
   * the sender lacks. The range lets a state too big for one datagram be sent
   * as several self-contained parts: losing one part loses only its range.
   */
  | { type: 'sync'; lo: string; hi: string | null; members: WireMember[] }
  /** Answer to a `sync` part (never answered itself). */
  | { type: 'sync-reply'; members: WireMember[] }
  /** Rumours only (sent on leave). */
  | { type: 'gossip' };

export type MessageType = MessageBody['type'];
export const MESSAGE_TYPES: readonly MessageType[] = Object.freeze(['ping', 'ping-req', 'ack', 'sync', 'sync-reply', 'gossip'] as const);

/** A whole gossip message (one datagram). */
export type GossipMessage = Envelope & MessageBody;

/** What {@link decodeMessage} needs to know about the local node's group. */
export interface DecodeOptions {
  /** Messages of any other group are dropped. */
  group: string;
  /** Shared secret: when set, a datagram without a valid MAC prefix is dropped. */
  secret?: string | Buffer;
  /** Largest datagram accepted; default {@link MAX_DATAGRAM_BYTES}. */
  maxBytes?: number;
}

/** A dropped datagram and why. */
export interface DecodeError {
  error: string;
}

// Printable ASCII except space, '"' and '\': nothing JSON has to escape.
const PLAIN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;
const ID = /^[A-Za-z0-9._:@/+=-]+$/;
const GOSSIP_ADDRESS = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):([0-9]{1,5})$/;

/** Why `id` cannot be a member id, or undefined if it can: 1-64 characters of A-Z a-z 0-9 . _ : @ / + = -. */
export function invalidId(id: string): string | undefined {
  if (id.length < 1 || id.length > MAX_ID_LENGTH) return `must be 1-${MAX_ID_LENGTH} characters`;
  return ID.test(id) ? undefined : 'may hold only A-Z a-z 0-9 . _ : @ / + = -';
}

/** Why `address` cannot be a gossip address, or undefined if it can: `host:port` (IPv6 in brackets), port 1-65535. */
export function invalidGossipAddress(address: string): string | undefined {
  if (address.length > MAX_GOSSIP_ADDRESS_LENGTH) return `longer than ${MAX_GOSSIP_ADDRESS_LENGTH} characters`;
  const m = GOSSIP_ADDRESS.exec(address);
  if (!m) return 'must be host:port';
  const port = Number(m[1]);
  return port >= 1 && port <= 65535 ? undefined : 'port must be 1-65535';
}

/** Why `url` cannot be a relay URL, or undefined if it can: 1-200 printable ASCII characters without space, `"` or `\`. */
export function invalidRelayUrl(url: string): string | undefined {
  if (url.length < 1 || url.length > MAX_RELAY_URL_LENGTH) return `must be 1-${MAX_RELAY_URL_LENGTH} characters`;
  return PLAIN.test(url) ? undefined : 'must be printable ASCII without space, quote or backslash';
}

/** Why `group` cannot be a group name, or undefined if it can. */
export function invalidGroup(group: string): string | undefined {
  if (group.length < 1 || group.length > MAX_GROUP_LENGTH) return `must be 1-${MAX_GROUP_LENGTH} characters`;
  return PLAIN.test(group) ? undefined : 'must be printable ASCII without space, quote or backslash';
}

/** The datagram for `message`: its JSON, prefixed with the hex HMAC-SHA256 when a secret is given. */
export function encodeMessage(message: GossipMessage, secret?: string | Buffer): Buffer {
  const json = Buffer.from(JSON.stringify(message), 'utf8');
  if (secret === undefined) return json;
  const mac = createHmac('sha256', secret).update(json).digest('hex');
  return Buffer.concat([Buffer.from(mac, 'ascii'), json]);
}

/**
 * Decodes and validates one datagram. Never throws: anything malformed,
 * oversized, of another version or group, or with a missing or wrong MAC is
 * returned as `{ error }` naming the reason. The result is a fresh object
 * holding only the fields listed in {@link GossipMessage} (unknown fields are
 * ignored, so a later minor revision can add optional ones).
 */
export function decodeMessage(buf: Buffer, opts: DecodeOptions): GossipMessage | DecodeError {
  const maxBytes = opts.maxBytes ?? MAX_DATAGRAM_BYTES;
  if (buf.length > maxBytes) return { error: `oversized: ${buf.length} bytes > ${maxBytes}` };
  if (buf.length === 0) return { error: 'empty datagram' };
  let json = buf;
  if (opts.secret !== undefined) {
    if (buf.length <= MAC_HEX_LENGTH || !/^[0-9a-f]{64}$/.test(buf.subarray(0, MAC_HEX_LENGTH).toString('latin1'))) {
      return { error: 'missing MAC (a shared secret is configured)' };
    }
    json = buf.subarray(MAC_HEX_LENGTH);
    const expected = createHmac('sha256', opts.secret).update(json).digest();
    const given = Buffer.from(buf.subarray(0, MAC_HEX_LENGTH).toString('latin1'), 'hex');
    if (!timingSafeEqual(expected, given)) return { error: 'bad MAC' };
  } else if (buf[0] !== 0x7b /* '{' */) {
    return /^[0-9a-f]{64}\{/.test(buf.subarray(0, MAC_HEX_LENGTH + 1).toString('latin1'))
      ? { error: 'unexpected MAC (no shared secret is configured here)' }
      : { error: 'malformed: not a JSON object' };
  }
  let raw: unknown;
  try {
    raw = JSON.parse(json.toString('utf8'));
  } catch (err) {
    return { error: `malformed JSON: ${(err as Error).message}` };
  }
  try {
    return parseMessage(raw, opts.group);
  } catch (err) {
    if (err instanceof WireError) return { error: err.message };
    return { error: `malformed: ${String(err)}` };
  }
}

class WireError extends Error {}

function fail(msg: string): never {
  throw new WireError(msg);
}

type Json = Record<string, unknown>;

function obj(value: unknown, where: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(`${where} must be an object`);
  return value as Json;
}

function count(value: unknown, where: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) fail(`${where} must be a non-negative integer`);
  return value;
}

function checked(value: unknown, where: string, why: (s: string) => string | undefined): string {
  if (typeof value !== 'string') fail(`${where} must be a string`);
  const reason = why(value);
  if (reason !== undefined) fail(`${where} ${reason}`);
  return value;
}

function entries(value: unknown, where: string): WireMember[] {
  if (!Array.isArray(value)) fail(`${where} must be an array`);
  if (value.length > MAX_ENTRIES_PER_ARRAY) fail(`${where} has more than ${MAX_ENTRIES_PER_ARRAY} entries`);
  return value.map((v, i) => wireMember(v, `${where}[${i}]`));
}

function wireMember(value: unknown, where: string): WireMember {
  const o = obj(value, where);
  const state = o.state;
  if (typeof state !== 'string' || !(MEMBER_STATES as readonly string[]).includes(state)) fail(`${where}.state must be one of ${MEMBER_STATES.join(', ')}`);
  if (typeof o.cp !== 'boolean') fail(`${where}.cp must be a boolean`);
  const m: WireMember = {
    id: checked(o.id, `${where}.id`, invalidId),
    gossip: checked(o.gossip, `${where}.gossip`, invalidGossipAddress),
    inc: count(o.inc, `${where}.inc`),
    hb: count(o.hb, `${where}.hb`),
    state: state as MemberState,
    cp: o.cp,
  };
  if (o.relayUrl !== undefined) m.relayUrl = checked(o.relayUrl, `${where}.relayUrl`, invalidRelayUrl);
  return m;
}

function parseMessage(raw: unknown, group: string): GossipMessage {
  const o = obj(raw, 'message');
  if (o.v !== PROTOCOL_VERSION) fail(`unsupported version ${JSON.stringify(o.v) ?? 'undefined'} (this node speaks ${PROTOCOL_VERSION})`);
  if (typeof o.group !== 'string') fail('group must be a string');
  if (o.group !== group) fail(`wrong group ${JSON.stringify(o.group.slice(0, MAX_GROUP_LENGTH))} (this node is in ${JSON.stringify(group)})`);
  const type = o.type;
  if (typeof type !== 'string' || !(MESSAGE_TYPES as readonly string[]).includes(type)) fail(`unknown type ${JSON.stringify(type) ?? 'undefined'}`);
  const f = obj(o.from, 'from');
  const envelope: Envelope = {
    v: PROTOCOL_VERSION,
    group,
    from: { id: checked(f.id, 'from.id', invalidId), gossip: checked(f.gossip, 'from.gossip', invalidGossipAddress) },
    rumours: entries(o.rumours, 'rumours'),
  };
  switch (type as MessageType) {
    case 'ping':
      return { ...envelope, type: 'ping', seq: count(o.seq, 'seq'), target: checked(o.target, 'target', invalidId) };
    case 'ping-req': {
      const t = obj(o.target, 'target');
      return {
        ...envelope,
        type: 'ping-req',
        seq: count(o.seq, 'seq'),
        target: { id: checked(t.id, 'target.id', invalidId), gossip: checked(t.gossip, 'target.gossip', invalidGossipAddress) },
      };
    }
    case 'ack':
      return { ...envelope, type: 'ack', seq: count(o.seq, 'seq') };
    case 'sync': {
      const lo = o.lo === '' ? '' : checked(o.lo, 'lo', invalidId);
      const hi = o.hi === null ? null : checked(o.hi, 'hi', invalidId);
      if (hi !== null && hi <= lo) fail('hi must be greater than lo');
      const members = entries(o.members, 'members');
      if (members.some((m) => m.id < lo || (hi !== null && m.id >= hi))) fail('members must lie in [lo, hi)');
      return { ...envelope, type: 'sync', lo, hi, members };
    }
    case 'sync-reply':
      return { ...envelope, type: 'sync-reply', members: entries(o.members, 'members') };
    case 'gossip':
      return { ...envelope, type: 'gossip' };
  }
}
