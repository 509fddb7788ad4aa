/**
 * The login throttle's counters as `postern throttle list` and the admin page show them, and which
 * counters `postern throttle clear` picks (login-throttle.ts).
 */
import ipaddr from '../net/ipaddr.js';
import { parseIp } from '../http/trusted-proxies.js';
import type { Counter } from './throttle-counters.js';
import { normaliseUsername } from './username.js';

export type ThrottleScope = 'ip' | 'user' | 'user+ip' | 'device';

export interface ThrottleEntry {
  scope: ThrottleScope;
  /** The address (an IPv6 /64 for IPv6), the username, `username|address`, or a trusted device's id. */
  key: string;
  /** Failures in the longest window still counting. */
  failures: number;
  /** 0 unless a window is full. */
  blockedForSec: number;
}

/** The address a counter is kept for: IPv4 as is, IPv6 as its /64. Anything else as given. */
export function addressKey(ip: string): string {
  const canonical = parseIp(ip);
  if (canonical === undefined || !canonical.includes(':')) return canonical ?? ip;
  const parts = ipaddr.IPv6.parse(canonical).parts.slice(0, 4);
  return `${new ipaddr.IPv6([...parts, 0, 0, 0, 0]).toString()}/64`;
}

/** One row per scope and key, from every window's counter; `pointsByWindow` is keyed `scope:durationSec`. */
export function throttleEntries(counters: readonly Counter[], pointsByWindow: ReadonlyMap<string, number>): ThrottleEntry[] {
  const rows = new Map<string, ThrottleEntry>();
  for (const c of counters) {
    const id = `${c.scope}\n${c.key}`;
    let row = rows.get(id);
    if (row === undefined) {
      row = { scope: c.scope as ThrottleScope, key: c.key, failures: 0, blockedForSec: 0 };
      rows.set(id, row);
    }
    row.failures = Math.max(row.failures, c.consumed);
    const points = pointsByWindow.get(`${c.scope}:${c.durationSec}`);
    if (points !== undefined && c.consumed >= points && c.msLeft > 0) {
      row.blockedForSec = Math.max(row.blockedForSec, Math.ceil(c.msLeft / 1000));
    }
  }
  return [...rows.values()].sort((a, b) => a.scope.localeCompare(b.scope) || a.key.localeCompare(b.key));
}

/** Every counter concerning the address or the username (both given: either); an empty filter picks everything. */
export function countersConcerning(by: { ip?: string; user?: string }): (c: { scope: string; key: string }) => boolean {
  const ip = by.ip === undefined ? undefined : addressKey(by.ip.trim());
  const user = by.user === undefined ? undefined : normaliseUsername(by.user);
  const everything = ip === undefined && user === undefined;
  return (c) => {
    if (everything) return true;
    if (c.scope === 'ip') return c.key === ip;
    if (c.scope === 'user') return c.key === user;
    // A device's counters end with its trust (device-trust.ts revokeUser); only "everything" names them here.
    if (c.scope === 'device') return false;
    const bar = c.key.lastIndexOf('|');
    return c.key.slice(0, bar) === user || c.key.slice(bar + 1) === ip;
  };
}
