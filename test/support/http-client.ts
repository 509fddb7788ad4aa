import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { CookieJar } from 'tough-cookie';

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** The single value of a header (first line if repeated). */
  header(name: string): string | undefined;
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string | string[]>;
  body?: string | URLSearchParams;
}

/**
 * A test browser: sends every request to one loopback port while the URL's host name goes in the
 * Host header, so `https://photos.example.com/` can be asked of a proxy on 127.0.0.1:PORT. Cookies are
 * kept by a real cookie jar that honours Domain, Path and Secure as a browser does.
 */
export class TestClient {
  readonly jar = new CookieJar();

  /**
   * `localAddress` binds the client's side of the socket, so a test can come "from" 127.0.0.2.
   * `tls`: `https://` URLs go over TLS to this port, checking the certificate against `ca` for the URL's host.
   */
  constructor(
    private readonly port: number,
    private readonly localAddress?: string,
    private readonly tls?: { readonly port: number; readonly ca: string },
  ) {}

  async request(url: string, opts: RequestOptions = {}): Promise<Reply> {
    const target = new URL(url);
    const cookie = await this.jar.getCookieString(url);
    const headers: Record<string, string | string[]> = { host: target.host, ...(opts.headers ?? {}) };
    if (cookie && !Object.keys(headers).some((h) => h.toLowerCase() === 'cookie')) headers.cookie = cookie;
    let body: string | undefined;
    if (opts.body !== undefined) {
      body = String(opts.body);
      if (opts.body instanceof URLSearchParams) headers['content-type'] = 'application/x-www-form-urlencoded';
      headers['content-length'] = String(Buffer.byteLength(body));
    }
    const reply = await new Promise<Reply>((resolve, reject) => {
      const common = { host: '127.0.0.1', method: opts.method ?? 'GET', path: rawRequestTarget(url), headers, localAddress: this.localAddress };
      const onReply = (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
            header(name: string) {
              const v = res.headers[name.toLowerCase()];
              return Array.isArray(v) ? v[0] : v;
            },
          }),
        );
        res.on('error', reject);
      };
      const req =
        target.protocol === 'https:' && this.tls
          ? httpsRequest({ ...common, port: this.tls.port, ca: this.tls.ca, servername: target.hostname, agent: false }, onReply)
          : httpRequest({ ...common, port: this.port }, onReply);
      req.on('error', reject);
      req.setTimeout(10_000, () => req.destroy(new Error(`request to ${url} timed out`)));
      req.end(body);
    });
    const setCookie = reply.headers['set-cookie'];
    for (const c of setCookie ?? []) await this.jar.setCookie(c, url, { ignoreError: true });
    return reply;
  }

  get(url: string, headers: Record<string, string> = {}): Promise<Reply> {
    return this.request(url, { headers: { accept: 'text/html', ...headers } });
  }

  /** Fetches the form at `formUrl`, fills it, and posts it with its CSRF token, as a browser would. */
  async submitForm(formUrl: string, fields: Record<string, string>): Promise<Reply> {
    const page = await this.get(formUrl);
    const form = parseForm(page.body);
    const params = new URLSearchParams({ ...form.fields, ...fields });
    return this.request(new URL(form.action, formUrl).href, { method: 'POST', body: params, headers: { accept: 'text/html' } });
  }
}

/** A test browser whose requests say (to a trusted proxy's eye) that they come from `ip`, via X-Forwarded-For. */
export function clientFrom(port: number, ip: string): TestClient {
  const client = new TestClient(port);
  const request = client.request.bind(client);
  client.request = (url, opts = {}) => request(url, { ...opts, headers: { 'x-forwarded-for': ip, ...(opts.headers ?? {}) } });
  return client;
}

/** The path and query exactly as written in `url` (WHATWG URL parsing would resolve `..` and `%2e%2e` before sending). */
function rawRequestTarget(url: string): string {
  const start = url.indexOf('/', url.indexOf('//') + 2);
  if (start === -1) return '/';
  const hash = url.indexOf('#', start);
  return hash === -1 ? url.slice(start) : url.slice(start, hash);
}

/** The first form of a page: its action and hidden fields. */
export function parseForm(html: string): { action: string; fields: Record<string, string> } {
  const form = /<form[^>]*action="([^"]*)"[^>]*>([\s\S]*?)<\/form>/.exec(html);
  if (!form) throw new Error(`no form in page:\n${html.slice(0, 500)}`);
  const fields: Record<string, string> = {};
  for (const m of form[2]!.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) fields[m[1]!] = decodeEntities(m[2]!);
  return { action: decodeEntities(form[1]!), fields };
}

function decodeEntities(s: string): string {
  return s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}
