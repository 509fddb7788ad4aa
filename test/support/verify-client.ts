import type { Reply, TestClient } from './http-client.js';
import type { ProxyFlavour } from '../../src/http/original-request.js';

export interface VerifyOptions {
  method?: string;
  accept?: string;
  headers?: Record<string, string>;
  /** Send no cookie even if the browser has one. */
  anonymous?: boolean;
}

/**
 * Plays the proxy: asks Postern's verify endpoint about `originalUrl` with the headers that proxy
 * sends (per proxy-contracts.md) and the browser's cookies for that URL.
 */
export async function askVerify(postern: TestClient, browser: TestClient, flavour: ProxyFlavour, originalUrl: string, opts: VerifyOptions = {}): Promise<Reply> {
  const url = new URL(originalUrl);
  const method = opts.method ?? 'GET';
  const cookie = opts.anonymous ? '' : await browser.jar.getCookieString(originalUrl);
  const headers: Record<string, string> = {
    accept: opts.accept ?? 'text/html,application/xhtml+xml',
    'x-forwarded-method': method,
    'x-forwarded-proto': url.protocol.slice(0, -1),
    'x-forwarded-host': url.host,
    'x-forwarded-uri': url.pathname + url.search,
    'x-forwarded-for': '203.0.113.7',
    ...(flavour === 'nginx' ? { 'x-original-url': originalUrl, 'x-original-method': method } : {}),
    ...(cookie ? { cookie } : {}),
    ...opts.headers,
  };
  return postern.request(`http://postern.internal/verify/${flavour}`, { headers });
}
