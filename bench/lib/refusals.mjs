// P5b: how long Postern takes to refuse a sign-in, per kind of account asked about. A Postern of its
// own, whose users file holds one account per hash scheme: argon2id at the default parameters (made
// by `postern user add`), PBKDF2-SHA256 at 600 000 iterations (Frigate's form) and bcrypt cost 12
// (`$2y$`, as `htpasswd -B -C 12` writes it). The throttle's limits are raised so that every attempt
// is a password check. Each round sends the same number of wrong-password attempts for an unknown
// name and for each account, interleaved, from one address per kind.
import { pbkdf2Sync } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import bcrypt from 'bcrypt';
import { parse, stringify } from 'yaml';
import { loginForm, postLogin } from './http.mjs';
import { cleanupPosternDir, preparePosternDir, startPostern } from './postern.mjs';
import { median } from './stats.mjs';

export const REFUSAL_KINDS = ['unknown', 'argon2id', 'pbkdf2', 'bcrypt'];
const USERNAMES = { unknown: 'p5b-nobody', argon2id: 'p5b-argon2id', pbkdf2: 'p5b-pbkdf2', bcrypt: 'p5b-bcrypt' };
const PASSWORD = 'the right password, never sent';

function frigateHash(password) {
  const salt = 'c0ffee00c0ffee00c0ffee00c0ffee00';
  return `pbkdf2_sha256$600000$${salt}$${pbkdf2Sync(password, salt, 600_000, 32, 'sha256').toString('base64')}`;
}

/** A data dir for P5b's own Postern: the bench's config with the throttle out of the way, and the four kinds of account. */
async function prepare(redisPort) {
  const prepared = preparePosternDir({ redisPort, logLevel: 'warn', users: [{ name: USERNAMES.argon2id, password: PASSWORD }] });
  prepared.config.login = { ...(prepared.config.login ?? {}), rate_limit: '1000000/minute', account_rate_limit: '1000000/minute', account_address_rate_limit: '1000000/minute' };
  fs.writeFileSync(prepared.configFile, stringify(prepared.config));
  const usersFile = path.join(prepared.dir, 'data', 'users.yml');
  const doc = parse(fs.readFileSync(usersFile, 'utf8'));
  doc.users[USERNAMES.pbkdf2] = { password: frigateHash(PASSWORD) };
  doc.users[USERNAMES.bcrypt] = { password: `$2y$${(await bcrypt.hash(PASSWORD, 12)).slice(4)}` };
  fs.writeFileSync(usersFile, stringify(doc), { mode: 0o600 });
  return prepared;
}

/**
 * Runs P5b: `rounds` rounds of `attempts` wrong-password attempts per kind. Per round, the median
 * time per kind and the spread: (slowest kind − fastest kind) ÷ the unknown name's median.
 */
export async function measureRefusals({ redisPort, rounds, attempts, log }) {
  const prepared = await prepare(redisPort);
  const postern = await startPostern(prepared, { label: 'postern-p5b' });
  try {
    const host = 'auth.example.com';
    const forms = {};
    for (const [i, kind] of REFUSAL_KINDS.entries()) {
      const headers = { 'x-forwarded-for': `198.51.100.${200 + i}`, 'x-forwarded-proto': 'http' };
      forms[kind] = { headers, form: await loginForm({ port: postern.port, host, headers }) };
    }
    const attempt = async (kind) => {
      const { form, headers } = forms[kind];
      const t0 = performance.now();
      const r = await postLogin({ port: postern.port, host, form, username: USERNAMES[kind], password: 'wrong password', headers });
      const ms = performance.now() - t0;
      if (r.status !== 401) throw new Error(`P5b: a wrong password for ${kind} answered ${r.status}, expected 401`);
      return ms;
    };
    // Warm-up: one of each (connections, code paths).
    for (const kind of REFUSAL_KINDS) await attempt(kind);
    const perRound = [];
    for (let round = 1; round <= rounds; round++) {
      const times = Object.fromEntries(REFUSAL_KINDS.map((k) => [k, []]));
      const order = [...REFUSAL_KINDS];
      for (let i = 0; i < attempts; i++) {
        // A different order for each pass: whatever else the machine does falls on every kind alike.
        order.push(order.shift());
        if (i % 2 === 1) order.reverse();
        for (const kind of order) times[kind].push(await attempt(kind));
      }
      const medians = Object.fromEntries(REFUSAL_KINDS.map((k) => [k, median(times[k])]));
      const values = Object.values(medians);
      const spreadPercent = ((Math.max(...values) - Math.min(...values)) / medians.unknown) * 100;
      perRound.push({ medians, spreadPercent });
      log(`round ${round}/${rounds} P5b: refusal medians ${REFUSAL_KINDS.map((k) => `${k} ${medians[k].toFixed(1)} ms`).join(', ')}; spread ${spreadPercent.toFixed(1)} %`);
    }
    return perRound;
  } finally {
    await postern.stop();
    cleanupPosternDir(prepared);
  }
}
