/**
 * API-key IP allowlists: entries are addresses or CIDR blocks (IPv4 and IPv6). Identity validates
 * them when a key is created; the gateway checks the client address at the edge on every request.
 */
import { BlockList, isIP } from 'node:net';

export const maxAllowlistEntries = 20;

/** Parses `1.2.3.4`, `10.0.0.0/8`, `::1`, `2001:db8::/32`; returns the canonical entries or a reason. */
export function normaliseIpAllowlist(entries: readonly string[]): string[] | string {
  if (entries.length > maxAllowlistEntries) return `At most ${maxAllowlistEntries} IP allowlist entries.`;
  const out: string[] = [];
  for (const raw of entries) {
    const entry = raw.trim();
    const [address, prefixText, extra] = entry.split('/');
    const family = address ? isIP(address) : 0;
    if (!address || family === 0 || extra !== undefined) return `Not an IP address or CIDR block: ${raw}`;
    if (prefixText !== undefined) {
      const prefix = Number(prefixText);
      if (!/^[0-9]{1,3}$/.test(prefixText) || prefix > (family === 4 ? 32 : 128))
        return `Bad CIDR prefix length: ${raw}`;
      out.push(`${address.toLowerCase()}/${prefix}`);
    } else out.push(address.toLowerCase());
  }
  return [...new Set(out)];
}

/** Strips the IPv4-mapped IPv6 prefix node reports for IPv4 clients on dual-stack sockets. */
export function canonicalIp(ip: string): string {
  return ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip;
}

/** Whether `ip` is allowed by a normalised allowlist (empty = anywhere). */
export function ipAllowed(allowlist: readonly string[], ip: string | undefined): boolean {
  if (allowlist.length === 0) return true;
  if (!ip) return false;
  const client = canonicalIp(ip);
  const family = isIP(client);
  if (family === 0) return false;
  const type = family === 4 ? 'ipv4' : 'ipv6';
  const list = new BlockList();
  for (const entry of allowlist) {
    const [address, prefix] = entry.split('/');
    const entryType = isIP(address!) === 4 ? 'ipv4' : 'ipv6';
    if (prefix === undefined) list.addAddress(address!, entryType);
    else list.addSubnet(address!, Number(prefix), entryType);
  }
  return list.check(client, type);
}
