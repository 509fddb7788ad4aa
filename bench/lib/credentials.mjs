// P7 and P8: verify with an app password, and with Basic + the account password (remembered pair),
// against verify with a session cookie, direct to /verify/nginx, in the same rounds (alternating order).
import { runLoad } from './load.mjs';
import { verifyHeaders, BENCH_USER } from './stack.mjs';
import { request } from './http.mjs';

function withoutCookie(headers) {
  const { cookie: _cookie, ...rest } = headers;
  return rest;
}

/** The three request sets: session cookies (round-robin), the app password, the Basic account pair. */
export function credentialTargets(port, sessions, appPassword) {
  const url = `http://127.0.0.1:${port}`;
  const basic = `Basic ${Buffer.from(`${BENCH_USER.name}:${BENCH_USER.password}`).toString('base64')}`;
  const base = withoutCookie(verifyHeaders(sessions[0]));
  return {
    session: { url, requests: sessions.map((s) => ({ method: 'GET', path: '/verify/nginx', headers: verifyHeaders(s) })) },
    token: { url, requests: [{ method: 'GET', path: '/verify/nginx', headers: { ...base, authorization: `Bearer ${appPassword}` } }] },
    basic: { url, requests: [{ method: 'GET', path: '/verify/nginx', headers: { ...base, authorization: basic } }] },
  };
}

/** Each kind answers 200 as bench, with Remote-Auth saying how (also pays Basic's one hash before timing). */
export async function checkCredentials(port, targets) {
  for (const [kind, expected] of [['session', 'session'], ['token', 'token'], ['basic', 'basic']]) {
    const r = await request({ port, path: '/verify/nginx', headers: targets[kind].requests[0].headers });
    if (r.status !== 200 || r.headers['remote-auth'] !== expected) throw new Error(`verify with ${kind} answered ${r.status}, Remote-Auth ${r.headers['remote-auth']}`);
  }
}

/** `rounds` rounds; per round the three kinds in rotating order; ratios token÷session (P7) and basic÷session (P8). */
export async function measureCredentialRatios({ port, sessions, appPassword, rounds, seconds, connections, log = () => undefined, onResult = () => undefined }) {
  const targets = credentialTargets(port, sessions, appPassword);
  await checkCredentials(port, targets);
  for (const kind of ['session', 'token', 'basic']) await runLoad({ ...targets[kind], connections, duration: 2 });
  const runs = { session: [], token: [], basic: [], P7: [], P8: [] };
  const kinds = ['session', 'token', 'basic'];
  for (let round = 1; round <= rounds; round++) {
    const order = [...kinds.slice(round % 3), ...kinds.slice(0, round % 3)];
    const r = {};
    for (const kind of order) {
      r[kind] = await runLoad({ ...targets[kind], connections, duration: seconds });
      onResult(`${kind} round ${round}`, r[kind]);
      runs[kind].push(r[kind].rps);
    }
    runs.P7.push(r.token.rps / r.session.rps);
    runs.P8.push(r.basic.rps / r.session.rps);
    log(`round ${round}/${rounds} P7/P8: session ${Math.round(r.session.rps)} req/s, app password ${Math.round(r.token.rps)} (${(r.token.rps / r.session.rps).toFixed(2)}), Basic account password ${Math.round(r.basic.rps)} (${(r.basic.rps / r.session.rps).toFixed(2)})`);
  }
  return runs;
}
