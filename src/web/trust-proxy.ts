import { BlockList, isIP } from 'node:net';

/**
 * Which reverse proxies are believed when they write X-Forwarded-For (ALMANAC_TRUST_PROXY): a number of hops (the
 * older form), or the proxies' own addresses and CIDR ranges.
 */
export type TrustProxy = { hops: number } | { proxies: string[] };

/** An ALMANAC_TRUST_PROXY value that is neither a count nor a list of addresses; the message names the bad entry. */
export class TrustProxyError extends Error {
  override name = 'TrustProxyError';
}

/** Parses `0`–`10` (hops) or `127.0.0.1, 10.0.0.0/8, ::1, fd00::/8` (proxies). */
export function parseTrustProxy(value: string): TrustProxy {
  const text = value.trim();
  if (/^\d+$/.test(text)) {
    const hops = Number(text);
    if (hops > 10) throw new TrustProxyError(`${hops} hops (at most 10)`);
    return { hops };
  }
  const proxies = text.split(',').map((entry) => entry.trim());
  for (const entry of proxies) {
    if (!entry) throw new TrustProxyError('an empty entry in the list');
    const [address = '', prefix, extra] = entry.split('/');
    const family = isIP(address);
    if (family === 0 || extra !== undefined) throw new TrustProxyError(`"${entry}" (not an IP address or CIDR range)`);
    if (prefix !== undefined && !(/^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128))) {
      throw new TrustProxyError(`"${entry}" (prefix length out of range for IPv${family})`);
    }
  }
  return { proxies };
}

/** `::ffff:192.0.2.1` (an IPv4 client of a dual-stack socket) → `192.0.2.1`; other addresses as they are. */
export function plainAddress(address: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return m ? m[1]! : address;
}

/** Decides, for one request, which address is the visitor's. */
export class ClientAddress {
  private readonly list: BlockList | undefined;

  constructor(private readonly trust: TrustProxy) {
    if ('proxies' in trust) {
      this.list = new BlockList();
      for (const entry of trust.proxies) {
        const [address, prefix] = entry.split('/') as [string, string | undefined];
        const type = isIP(address) === 4 ? 'ipv4' : 'ipv6';
        if (prefix === undefined) this.list.addAddress(plainAddress(address), type);
        else this.list.addSubnet(address, Number(prefix), type);
      }
    }
  }

  /** True when `address` is one of the listed proxies. */
  isTrusted(address: string): boolean {
    if (!this.list) return false;
    const plain = plainAddress(address);
    const family = isIP(plain);
    return family !== 0 && this.list.check(plain, family === 4 ? 'ipv4' : 'ipv6');
  }

  /**
   * The visitor's address from the socket's peer and the X-Forwarded-For header. Each proxy appends the address it
   * received the request from, so the list is read from its right end. With a list of proxies: while the address in
   * hand is a listed proxy, the entry before it is believed; the first address that is not a proxy is the visitor.
   * A client reaching the server directly is not a listed proxy, so its header is never read. With a hop count: the
   * entry that many places from the socket's end. With neither the header is ignored.
   */
  resolve(socketAddress: string | undefined, forwardedFor: string | string[] | undefined): string {
    const socket = plainAddress(socketAddress ?? 'unknown');
    if ('hops' in this.trust && this.trust.hops === 0) return socket;
    if ('proxies' in this.trust && !this.isTrusted(socket)) return socket;
    const forwarded = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : (forwardedFor ?? ''))
      .split(',')
      .map((a) => plainAddress(a.trim()))
      .filter(Boolean);
    if ('hops' in this.trust) {
      const chain = [...forwarded, socket];
      return chain[Math.max(0, chain.length - 1 - this.trust.hops)]!;
    }
    let visitor = socket;
    for (let i = forwarded.length - 1; i >= 0 && this.isTrusted(visitor); i--) {
      // A malformed entry cannot be a proxy's record of a peer: stop at the last address we can vouch for.
      if (isIP(forwarded[i]!) === 0) break;
      visitor = forwarded[i]!;
    }
    return visitor;
  }
}
