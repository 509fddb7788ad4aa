// A minimal HTTP client for setting up the benchmark: real sign-ins through the login form.
import http from 'node:http';

export const COOKIE_NAME = 'postern_session';
export const CSRF_COOKIE_NAME = `${COOKIE_NAME}_csrf`;

/** One request; resolves { status, headers, body }. */
export function request({ port, method = 'GET', path = '/', headers = {}, body, agent = false }) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, headers, agent }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (body !== undefined) req.end(body);
    else req.end();
  });
}

/** The value of cookie `name` among Set-Cookie lines, or undefined. */
export function setCookieValue(headers, name) {
  for (const line of headers['set-cookie'] ?? []) {
    const [pair] = line.split(';');
    const eq = pair.indexOf('=');
    if (pair.slice(0, eq).trim() === name) return pair.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * GET /login: the CSRF nonce cookie and the form token that goes with it. Reusable for many POSTs
 * from the same "browser" (the token is an HMAC of the nonce).
 */
export async function loginForm({ port, host, agent = false, headers = {} }) {
  const res = await request({ port, path: '/login', headers: { host, accept: 'text/html', ...headers }, agent });
  if (res.status !== 200) throw new Error(`GET /login answered ${res.status}`);
  const nonce = setCookieValue(res.headers, CSRF_COOKIE_NAME);
  const token = /name="csrf" value="([^"]+)"/.exec(res.body)?.[1];
  if (!nonce || !token) throw new Error('GET /login gave no CSRF cookie or token');
  return { cookie: `${CSRF_COOKIE_NAME}=${nonce}`, token };
}

export function loginBody(form, username, password) {
  return new URLSearchParams({ csrf: form.token, username, password }).toString();
}

/** POST /login; resolves { status, session } where `session` is the new session cookie's value. */
export async function postLogin({ port, host, form, username, password, agent = false, headers = {} }) {
  const body = loginBody(form, username, password);
  const res = await request({
    port,
    method: 'POST',
    path: '/login',
    headers: { host, accept: 'text/html', 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body), cookie: form.cookie, ...headers },
    body,
    agent,
  });
  return { status: res.status, session: setCookieValue(res.headers, COOKIE_NAME), headers: res.headers };
}

/** A full sign-in as a browser does it: GET the form, POST it. Returns the session cookie value. */
export async function signIn({ port, host, username, password }) {
  const form = await loginForm({ port, host });
  const res = await postLogin({ port, host, form, username, password });
  if (res.status !== 303 || !res.session) throw new Error(`sign-in as ${username} answered ${res.status} without a session cookie`);
  return res.session;
}
