import type { IncomingHttpHeaders } from 'node:http';

/**
 * The request the proxy is asking about, read from the headers the proxy set on the auth subrequest.
 * Callers read these only when the TCP peer is a trusted proxy.
 */
export interface OriginalRequest {
  readonly proto: 'http' | 'https';
  /** Host as sent (may carry a port); canonicalised later by access/target.ts. */
  readonly host: string;
  /** Raw request-target: path and query exactly as the client sent them. */
  readonly uri: string;
  readonly method: string;
  /** `proto://host uri`, the URL a browser is sent back to after sign-in. */
  readonly url: string;
}

/** Which headers a flavour trusts. nginx sets X-Original-URL in our snippet; Traefik and Caddy overwrite X-Forwarded-*, but pass a client's X-Original-* through untouched. */
export type ProxyFlavour = 'nginx' | 'traefik' | 'caddy';

const HOST = /^(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.?|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$/;
const URI = /^\/[\u0021-\u007e]*$/;
const METHOD = /^[A-Za-z]{1,20}$/;
const MAX_URI = 8192;

function first(value: string | string[] | undefined): string | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined) return undefined;
  const comma = v.indexOf(',');
  return (comma === -1 ? v : v.slice(0, comma)).trim();
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? (value.length === 1 ? value[0] : undefined) : value;
}

function build(proto: string | undefined, host: string | undefined, uri: string | undefined, method: string | undefined): OriginalRequest | undefined {
  const p = proto?.toLowerCase();
  if (p !== 'http' && p !== 'https') return undefined;
  if (!host || host.length > 255 || !HOST.test(host)) return undefined;
  if (!uri || uri.length > MAX_URI || !URI.test(uri)) return undefined;
  const m = (method ?? 'GET').toUpperCase();
  if (!METHOD.test(m)) return undefined;
  return { proto: p, host, uri, method: m, url: `${p}://${host}${uri}` };
}

function fromOriginalUrl(headers: IncomingHttpHeaders): OriginalRequest | undefined {
  const raw = single(headers['x-original-url']);
  if (!raw) return undefined;
  const match = /^(https?):\/\/([^/?#]+)(\/.*)?$/i.exec(raw);
  if (!match) return undefined;
  const method = single(headers['x-original-method']) ?? single(headers['x-forwarded-method']);
  return build(match[1], match[2], match[3] ?? '/', method);
}

/**
 * Traefik's entrypoint says `ws`/`wss` for a WebSocket upgrade, and forwardAuth passes that on with
 * `trustForwardHeader: true`: the same request, over http/https, as far as the access rules go.
 */
const WEBSOCKET_PROTO: Readonly<Record<string, string>> = { ws: 'http', wss: 'https' };

function fromForwarded(headers: IncomingHttpHeaders): OriginalRequest | undefined {
  const host = first(headers['x-forwarded-host']) ?? single(headers.host);
  const proto = first(headers['x-forwarded-proto'])?.toLowerCase();
  return build(proto === undefined ? undefined : (WEBSOCKET_PROTO[proto] ?? proto), host, single(headers['x-forwarded-uri']), single(headers['x-forwarded-method']));
}

/** Undefined when the headers do not describe one usable absolute URL: verify then denies. */
export function readOriginalRequest(flavour: ProxyFlavour, headers: IncomingHttpHeaders): OriginalRequest | undefined {
  if (flavour === 'nginx' && headers['x-original-url'] !== undefined) return fromOriginalUrl(headers);
  return fromForwarded(headers);
}
