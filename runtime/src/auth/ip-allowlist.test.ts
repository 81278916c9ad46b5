import { describe, expect, it } from 'vitest';
import { ipAllowed, normaliseIpAllowlist } from './ip-allowlist.ts';

describe('IP allowlists', () => {
  it('normalises addresses and CIDR blocks, refusing anything else', () => {
    expect(normaliseIpAllowlist([' 10.0.0.0/8', '2001:DB8::/32', '::1', '10.0.0.0/8'])).toEqual([
      '10.0.0.0/8',
      '2001:db8::/32',
      '::1',
    ]);
    for (const bad of ['10.0.0.0/33', '::/129', 'host.example', '10.0.0.1/8/1', '1.2.3', '10.0.0.0/08x'])
      expect(typeof normaliseIpAllowlist([bad]), bad).toBe('string');
    expect(typeof normaliseIpAllowlist(Array.from({ length: 21 }, (_, i) => `10.0.0.${i}`))).toBe('string');
  });

  it('matches IPv4, IPv6 and IPv4-mapped clients; an empty list allows all, a missing address none', () => {
    const list = ['10.1.0.0/16', '192.0.2.7', '2001:db8::/32'];
    expect(ipAllowed(list, '10.1.255.1')).toBe(true);
    expect(ipAllowed(list, '::ffff:10.1.0.9')).toBe(true);
    expect(ipAllowed(list, '192.0.2.7')).toBe(true);
    expect(ipAllowed(list, '192.0.2.8')).toBe(false);
    expect(ipAllowed(list, '2001:db8:1::5')).toBe(true);
    expect(ipAllowed(list, '2001:db9::5')).toBe(false);
    expect(ipAllowed(list, undefined)).toBe(false);
    expect(ipAllowed(list, 'garbage')).toBe(false);
    expect(ipAllowed([], undefined)).toBe(true);
  });
});
