/**
 * Which usernames exist must not be readable from the clock: refusing an unknown name takes as long
 * as refusing a wrong password for an argon2id, a PBKDF2-600k or a bcrypt account (issue 11, item 3).
 * Through the real app, in interleaved rounds compared round by round: a round's four refusals come
 * within seconds of each other, so a change in the machine's load falls on all four alike.
 */
import { pbkdf2Sync } from 'node:crypto';
import bcrypt from 'bcrypt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HashLimiter } from '../../src/auth/hash-limiter.js';
import { createPasswordHasher, type Calibration } from '../../src/auth/passwords.js';
import { MARGIN, RAISES_MAX } from '../../src/auth/refusal-floor.js';
import type { User } from '../../src/auth/user.js';
import { UsersFile, writeUsersFileAtomic } from '../../src/auth/users-file.js';
import { type AppFixture, FAST_ARGON2, fastHasher, startApp } from '../support/app-fixture.js';
import { parseForm, type Reply, TestClient } from '../support/http-client.js';

const CONFIG = {
  server: { public_url: 'http://auth.example.com', trusted_proxies: ['loopback'] },
  session: { domain: 'example.com' },
  // Far above what the test sends: the throttle must not answer instead of the password check.
  login: { rate_limit: '100000/minute', account_rate_limit: '100000/minute', account_address_rate_limit: '100000/minute' },
};
const LOGIN = 'http://auth.example.com/login';
const ROUNDS = 9;
/** The largest accepted gap between a known account's refusal and an unknown name's, in the median round. */
const TOLERANCE = 0.2;

/** Usernames of the same length, so the pages differ only in the name they echo. */
const CASES = {
  unknown: 'nobodyx',
  argon2id: 'argonia',
  pbkdf2: 'frigate',
  bcrypt: 'htpassw',
} as const;
type Case = keyof typeof CASES;

function user(username: string, password: string): User {
  return { username, password, role: 'user', groups: [], email: '', name: '', disabled: false };
}

/** Frigate's hash_password(): PBKDF2-SHA256, 600 000 iterations, the salt used as text. */
function frigateHash(password: string): string {
  const salt = 'c0ffee00c0ffee00c0ffee00c0ffee00';
  return `pbkdf2_sha256$600000$${salt}$${pbkdf2Sync(password, salt, 600_000, 32, 'sha256').toString('base64')}`;
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

let app: AppFixture;
let calibration: Calibration;
const hasher = createPasswordHasher({
  argon2: FAST_ARGON2,
  // As main.ts builds it on a 2-core machine.
  limiter: new HashLimiter({ concurrency: 1, maxQueue: 64, maxWaitMs: 5000 }),
});

beforeAll(async () => {
  app = await startApp(CONFIG, {}, { extraDeps: () => ({ hasher }) });
  // `htpasswd -B` writes $2y$; the bcrypt package writes $2b$ of the same algorithm.
  const bcryptHash = `$2y$${(await bcrypt.hash('the right one', 10)).slice(4)}`;
  await writeUsersFileAtomic(app.usersFile, [
    user(CASES.argon2id, await fastHasher.hash('the right one')),
    user(CASES.pbkdf2, frigateHash('the right one')),
    user(CASES.bcrypt, bcryptHash),
  ]);
  const directory = app.deps.users as UsersFile;
  expect(await directory.reload()).toBe(true);
  // What main.ts does after loading the users file.
  calibration = await hasher.calibrate(directory.all().map((u) => u.password));
}, 60_000);
afterAll(() => app.close());

/** One wrong-password attempt, timed from sending the POST to the end of the reply. */
async function refuse(client: TestClient, username: string): Promise<{ ms: number; reply: Reply }> {
  const form = parseForm((await client.get(LOGIN)).body);
  const body = new URLSearchParams({ ...form.fields, username, password: 'not the password' });
  const t0 = performance.now();
  const reply = await client.request(LOGIN, { method: 'POST', body, headers: { accept: 'text/html' } });
  return { ms: performance.now() - t0, reply };
}

/** The reply with the echoed username and the per-request values taken out. */
function shape(reply: Reply, username: string): unknown {
  const headers = { ...reply.headers };
  delete headers.date;
  delete headers['set-cookie'];
  return { status: reply.status, headers, body: reply.body.replaceAll(username, 'USERNAME').replace(/name="csrf" value="[^"]*"/, 'csrf') };
}

describe('refusing a sign-in takes the same time whoever is asked about', () => {
  it('is slower to check for PBKDF2-600k than for argon2id at the test parameters: without the floor the clock would tell', () => {
    const classes = calibration.classes;
    expect(classes['pbkdf2_sha256 i=600000']).toBeGreaterThan(2 * classes[`argon2id m=${FAST_ARGON2.memory_cost} t=1 p=1`]!);
    expect(calibration.floorMs).toBe(MARGIN * Math.max(...Object.values(classes)));
  });

  it('still signs in each account with its right password, imported bcrypt ($2y$) and PBKDF2 ones included', async () => {
    for (const username of [CASES.argon2id, CASES.pbkdf2, CASES.bcrypt]) {
      const reply = await new TestClient(app.port).submitForm(LOGIN, { username, password: 'the right one' });
      expect(reply.status, username).toBe(303);
      expect(reply.header('location')).toBe('http://auth.example.com/');
    }
  });

  // Round by round, not median against median: when a check slower than the floor raises it (the
  // machine got busier), the refusals after it in that round wait longer than those before it; per
  // kind medians would then differ whenever that round is the middle one. The floor rises at most
  // RAISES_MAX (4) times between calibrations, so the median of nine rounds is never one of those. Without the floor every round fails by far more (about 10x, see above). The timeout is
  // for a busy machine: a raised floor can reach seconds, times forty refusals.
  it(`answers an unknown name and a wrong password for argon2id, PBKDF2-600k and bcrypt accounts alike, within ${TOLERANCE * 100} % in the median round`, { timeout: 240_000 }, async () => {
    const clients = Object.fromEntries(
      (Object.keys(CASES) as Case[]).map((c, i) => {
        const client = new TestClient(app.port);
        const request = client.request.bind(client);
        client.request = (url, opts = {}) => request(url, { ...opts, headers: { 'x-forwarded-for': `198.51.100.${60 + i}`, ...(opts.headers ?? {}) } });
        return [c, client];
      }),
    ) as Record<Case, TestClient>;
    const times: Record<Case, number[]> = { unknown: [], argon2id: [], pbkdf2: [], bcrypt: [] };
    const shapes = new Map<Case, unknown>();
    const order = Object.keys(CASES) as Case[];
    for (let round = 0; round <= ROUNDS; round++) {
      // A different order each round: whatever else the machine is doing falls on every case alike.
      order.push(order.shift()!);
      if (round % 2 === 1) order.reverse();
      for (const c of order) {
        const { ms, reply } = await refuse(clients[c], CASES[c]);
        expect(reply.status).toBe(401);
        shapes.set(c, shape(reply, CASES[c]));
        if (round > 0) times[c].push(ms); // round 0 warms up connections and code paths
      }
    }
    // The floor's raises (RAISES_MAX per calibration) cannot make up half the rounds.
    expect(2 * RAISES_MAX).toBeLessThan(ROUNDS);
    // Same status, headers and page for all four.
    for (const c of order) expect(shapes.get(c)).toEqual(shapes.get('unknown'));

    const medians = Object.fromEntries(order.map((c) => [c, median(times[c])])) as Record<Case, number>;
    const report = JSON.stringify({ medians, times, floorMs: calibration.floorMs, classes: calibration.classes });
    for (const c of ['argon2id', 'pbkdf2', 'bcrypt'] as const) {
      const gaps = times[c].map((ms, round) => Math.abs(ms - times.unknown[round]!) / times.unknown[round]!);
      expect(median(gaps), `${c} vs unknown: ${report}`).toBeLessThanOrEqual(TOLERANCE);
    }
    // And the figure is the slowest hash's, not the fastest's.
    expect(medians.unknown, report).toBeGreaterThanOrEqual(calibration.classes['pbkdf2_sha256 i=600000']! * 0.8);
  });
});
