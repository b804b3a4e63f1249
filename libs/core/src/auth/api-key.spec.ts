import { KEY_PREFIX, bearerToken, displayPrefix, generateApiKey, hashApiKey } from './api-key.js';

describe('generateApiKey', () => {
  it('starts with nf_ followed by 43 base64url characters (256 random bits)', () => {
    const key = generateApiKey();
    expect(KEY_PREFIX).toBe('nf_');
    expect(key).toMatch(/^nf_[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(key.slice(KEY_PREFIX.length), 'base64url')).toHaveLength(32);
  });

  it('is unique over 1,000 draws and uses the whole base64url alphabet', () => {
    const keys = Array.from({ length: 1000 }, generateApiKey);
    expect(new Set(keys).size).toBe(1000);
    const chars = new Set(keys.flatMap((k) => [...k.slice(KEY_PREFIX.length)]));
    expect(chars.size).toBe(64);
  });

  it('displayPrefix shows only the first 10 characters', () => {
    const key = generateApiKey();
    expect(displayPrefix(key)).toBe(key.slice(0, 10));
    expect(displayPrefix(key).startsWith('nf_')).toBe(true);
  });
});

describe('hashApiKey', () => {
  it('is deterministic 64-char lowercase hex SHA-256', () => {
    const key = generateApiKey();
    expect(hashApiKey(key)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashApiKey(key)).toBe(hashApiKey(key));
    expect(hashApiKey('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('differs for different keys', () => {
    const a = generateApiKey();
    const b = generateApiKey();
    expect(hashApiKey(a)).not.toBe(hashApiKey(b));
    expect(hashApiKey('nf_a')).not.toBe(hashApiKey('nf_b'));
  });
});

describe('bearerToken', () => {
  it.each([
    ['Bearer x', 'x'],
    ['bearer x', 'x'],
    ['BEARER nf_abc-_1', 'nf_abc-_1'],
    ['Bearer   x', 'x'],
    ['Bearer x  ', 'x'],
  ])('reads %j as %j', (header, token) => {
    expect(bearerToken(header)).toBe(token);
  });

  it.each([['Basic x'], [''], ['Bearer'], ['Bearer '], ['Bearer a b'], ['Bearerx'], ['x']])('rejects %j', (header) => {
    expect(bearerToken(header)).toBeNull();
  });

  it('rejects a missing header and takes the first of repeated headers', () => {
    expect(bearerToken(undefined)).toBeNull();
    expect(bearerToken([])).toBeNull();
    expect(bearerToken(['Bearer first', 'Bearer second'])).toBe('first');
  });
});
