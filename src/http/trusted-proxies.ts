import { parseAddress, parseCidr, rangeContains, type IpRange } from '../net/cidr.js';

/**
 * Which peers may tell us who the client is. `server.trusted_proxies` is compiled once, at start-up,
 * into one predicate; every request then costs one strict parse and a few prefix comparisons.
 * Addresses and CIDRs are read by net/cidr.ts, the same parser as the access rules' networks.
 */

// Re-exported: the client-address resolver and the login throttle canonicalise addresses with it.
export { parseIp } from '../net/cidr.js';

/** The names `server.trusted_proxies` accepts besides addresses and CIDRs. */
export const TRUSTED_PROXY_NAMES: Readonly<Record<'loopback' | 'private' | 'docker', readonly string[]>> = Object.freeze({
  loopback: Object.freeze(['127.0.0.0/8', '::1/128']),
  private: Object.freeze(['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '169.254.0.0/16', 'fc00::/7', 'fe80::/10']),
  // Docker's default bridge and user-defined networks are carved out of 172.16.0.0/12.
  docker: Object.freeze(['172.16.0.0/12']),
});

const NAMES = Object.keys(TRUSTED_PROXY_NAMES).join(', ');

/**
 * What is wrong with one `server.trusted_proxies` entry, worded to follow its key
 * (`has host bits set: '10.0.0.5/8' (the network is 10.0.0.0/8)`); undefined when it is fine.
 */
export function trustedProxyProblem(entry: string): string | undefined {
  if (Object.hasOwn(TRUSTED_PROXY_NAMES, entry)) return undefined;
  const parsed = parseCidr(entry);
  if (parsed.ok) return undefined;
  return parsed.hostBits ? parsed.problem : `must be an address, a CIDR or one of ${NAMES}`;
}

/** True when `entry` is an address, a CIDR or one of the names, as `compileTrustedProxies` accepts. */
export function isTrustedProxyEntry(entry: string): boolean {
  return trustedProxyProblem(entry) === undefined;
}

/**
 * Compile the trusted-proxy entries into one predicate. An address that does not parse is never
 * trusted. Throws on an invalid entry: config validation reports those first, this is a safety net.
 */
export function compileTrustedProxies(entries: readonly string[]): (ip: string) => boolean {
  const v4: IpRange[] = [];
  const v6: IpRange[] = [];
  for (const entry of entries) {
    const texts = Object.hasOwn(TRUSTED_PROXY_NAMES, entry) ? TRUSTED_PROXY_NAMES[entry as keyof typeof TRUSTED_PROXY_NAMES] : [entry];
    for (const text of texts) {
      const parsed = parseCidr(text);
      if (!parsed.ok) {
        throw new Error(
          parsed.hostBits
            ? `trusted proxy ${parsed.problem}`
            : `trusted proxy '${entry}' is not an address, a CIDR or one of: ${NAMES}`,
        );
      }
      for (const range of parsed.ranges) (range.v4 ? v4 : v6).push(range);
    }
  }

  return function isTrusted(ip: string): boolean {
    const address = parseAddress(ip);
    if (address === undefined) return false;
    const ranges = address.v4 ? v4 : v6;
    for (let i = 0; i < ranges.length; i++) if (rangeContains(ranges[i]!, address)) return true;
    return false;
  };
}
