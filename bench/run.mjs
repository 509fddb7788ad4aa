// `npm run bench`: Postern against the floor, side by side, in one run on this machine.
// Reports; never fails on a missed target (exit 0 unless the benchmark itself could not run).
// See bench/README.md for what each figure measures.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { codeState } from './lib/code-state.mjs';
import { cpuPercent, cpuSnapshot, rssBytes } from './lib/cpu.mjs';
import { loginBody, loginForm, postLogin, request, COOKIE_NAME } from './lib/http.mjs';
import { rawGet, runAutocannon, runPaced } from './lib/load.mjs';
import { startPostern } from './lib/postern.mjs';
import { measureMetricsCost } from './lib/metrics-cost.mjs';
import { installHooks, stopAll } from './lib/proc.mjs';
import { verifyHeaders, APP_HOST, BENCH_USER, createSessions, processGroups, startStack } from './lib/stack.mjs';
import { measureRefusals, REFUSAL_KINDS } from './lib/refusals.mjs';
import { measureCredentialRatios } from './lib/credentials.mjs';
import { median, Samples } from './lib/stats.mjs';

// ---------------------------------------------------------------------------------------------
// Settings (environment). BENCH_QUICK=1: a short run to check that everything works.

const env = process.env;
const QUICK = env.BENCH_QUICK === '1';
const int = (name, fallback) => {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw.replaceAll('_', ''));
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, got '${raw}'`);
  return n;
};
const S = {
  quick: QUICK,
  seconds: int('BENCH_SECONDS', QUICK ? 2 : 5),
  rounds: Math.max(3, int('BENCH_ROUNDS', QUICK ? 3 : 5)),
  connections: int('BENCH_CONNECTIONS', 50),
  sessions: int('BENCH_SESSIONS', 50),
  signins: 20,
  p4Sessions: int('BENCH_P4_SESSIONS', QUICK ? 10_000 : 100_000),
  p5Attempts: int('BENCH_P5_ATTEMPTS', QUICK ? 500 : 2000),
  p5bAttempts: int('BENCH_P5B_ATTEMPTS', QUICK ? 5 : 8),
  p6Requests: int('BENCH_P6_REQUESTS', QUICK ? 100_000 : 1_000_000),
  // As packaged nginx.conf files have it; a second pair of nginx with 1 worker (as the tests run it) is measured beside.
  nginxWorkers: env.BENCH_NGINX_WORKERS || 'auto',
};

const TARGETS = {
  P1: { op: '>=', value: 0.8, unit: '' },
  P2: { op: '>=', value: 0.5, unit: '' },
  P3a: { op: '<=', value: 2, unit: 'ms' },
  P3b: { op: '<=', value: 10, unit: 'ms' },
  P4: { op: '<=', value: 300, unit: 'B' },
  P5: { op: '<=', value: 0.5, unit: 'ms' },
  P5b: { op: '<=', value: 20, unit: '%' },
  P6: { op: '<=', value: 150, unit: 'MB' },
  P6b: { op: '<=', value: 150, unit: 'MB' },
  P7: { op: '>=', value: 0.9, unit: '' },
  P8: { op: '>=', value: 0.9, unit: '' },
  P9: { op: '>=', value: 0.97, unit: '' },
};
/** P6 "flat": RSS after 1 M requests at most this much above RSS after the first half. */
const P6_FLAT_MB = 10;

const log = (msg) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

// ---------------------------------------------------------------------------------------------

function machine() {
  const version = (cmd, args) => {
    try {
      return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
    } catch (err) {
      return String(err.stderr ?? '').trim() || 'unknown';
    }
  };
  const nginxV = (() => {
    try {
      const r = execFileSync('sh', ['-c', '(/usr/sbin/nginx -v || nginx -v) 2>&1'], { encoding: 'utf8' });
      return r.trim().replace(/^nginx version: /, '');
    } catch {
      return 'unknown';
    }
  })();
  return {
    code: codeState(),
    cores: os.availableParallelism(),
    cpu: os.cpus()[0]?.model ?? 'unknown',
    memoryGB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    nginx: nginxV,
    redis: version('redis-server', ['--version']).replace(/^Redis server /, '').split(' ').find((p) => p.startsWith('v='))?.slice(2) ?? 'unknown',
    autocannon: JSON.parse(fs.readFileSync(path.join(import.meta.dirname, '..', 'node_modules', 'autocannon', 'package.json'), 'utf8')).version,
  };
}


function verifyRequests(sessions) {
  return sessions.map((s) => ({ method: 'GET', path: '/verify/nginx', headers: verifyHeaders(s) }));
}

function proxiedRequests(sessions) {
  return sessions.map((s) => ({ method: 'GET', path: '/', headers: { host: APP_HOST, 'user-agent': 'postern-bench', accept: '*/*', cookie: `${COOKIE_NAME}=${s}` } }));
}

function rawVerifyRequests(sessions) {
  return sessions.map((s) => rawGet('/verify/nginx', verifyHeaders(s)));
}

function check(label, r, expectStatus = '200') {
  const wrong = Object.entries(r.statusCodes).filter(([code]) => code !== expectStatus);
  const problems = [];
  if (wrong.length > 0) problems.push(`statuses ${JSON.stringify(r.statusCodes)}`);
  if (r.errors) problems.push(`${r.errors} errors`);
  if (r.timeouts) problems.push(`${r.timeouts} timeouts`);
  if (problems.length > 0) log(`WARNING ${label}: ${problems.join(', ')} (expected only ${expectStatus})`);
  return problems;
}

/** Runs `fn` and measures the CPU used meanwhile by each process group. */
async function withCpu(groups, fn) {
  const before = cpuSnapshot(groups);
  const result = await fn();
  return { ...result, cpu: cpuPercent(before, cpuSnapshot(groups)) };
}

/** A keep-alive HTTP agent for loops of sign-ins. */
const signinAgent = new http.Agent({ keepAlive: true, maxSockets: 64 });

/**
 * `n` concurrent loops of correct-password sign-ins (POST /login → 303) until stop() is called.
 * Each loop is one browser: one CSRF nonce and token for all its posts.
 */
async function startSigninLoops(port, n) {
  // Each browser at its own address (told by the trusted loopback peer): the throttle counts an attempt
  // before its hash, so n sign-ins in flight from one address would hold n points of its window at once.
  const headersOf = (i) => ({ 'x-forwarded-for': `198.51.100.${100 + i}`, 'x-forwarded-proto': 'http' });
  const forms = await Promise.all(Array.from({ length: n }, (_, i) => loginForm({ port, host: 'auth.example.com', agent: signinAgent, headers: headersOf(i) })));
  let running = true;
  const latency = new Samples(1024);
  const statuses = {};
  let errors = 0;
  const loops = forms.map(async (form, i) => {
    while (running) {
      const t0 = performance.now();
      try {
        const r = await postLogin({ port, host: 'auth.example.com', form, username: BENCH_USER.name, password: BENCH_USER.password, agent: signinAgent, headers: headersOf(i) });
        statuses[r.status] = (statuses[r.status] ?? 0) + 1;
        if (r.status === 303) latency.push(performance.now() - t0);
      } catch {
        errors++;
        await sleep(10);
      }
    }
  });
  const started = performance.now();
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      const secs = (performance.now() - started) / 1000;
      return { concurrency: n, signinsPerSec: (statuses[303] ?? 0) / secs, statuses, errors, latency: latency.summary() };
    },
  };
}

/** PASS / MISS for a figure. */
function verdict(key, value, extraOk = true) {
  const t = TARGETS[key];
  if (!Number.isFinite(value)) return 'n/a';
  const ok = t.op === '>=' ? value >= t.value : value <= t.value;
  return ok && extraOk ? 'PASS' : 'MISS';
}

function summarise(values) {
  return { median: median(values), min: Math.min(...values), max: Math.max(...values), rounds: values };
}

const fmt = (v, digits = 2) => (Number.isFinite(v) ? v.toFixed(digits) : 'n/a');
const fmtInt = (v) => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : 'n/a');

// ---------------------------------------------------------------------------------------------

async function main() {
  installHooks();
  const started = new Date();
  const info = machine();
  log(`settings: ${JSON.stringify(S)}`);
  log(`machine: ${info.cores} cores (${info.cpu}), node ${info.node}, nginx ${info.nginx}, redis ${info.redis}`);
  const loadAverageAtStart = os.loadavg().map((l) => +l.toFixed(2));
  if (loadAverageAtStart[0] > 0.5) log(`WARNING: load average ${loadAverageAtStart.join(' ')} before the bench started: other work is running, figures will be noisy`);

  const stack = await startStack({ log, nginxWorkers: S.nginxWorkers, withNginx1: true });
  const groups = processGroups(stack);
  const out = { started: started.toISOString(), machine: info, settings: S, loadAverageAtStart, figures: {}, details: {}, warnings: [] };
  const warn = (label, problems) => {
    if (problems.length > 0) out.warnings.push(`${label}: ${problems.join(', ')}`);
  };

  log(`signing in ${S.sessions} times through nginx's portal (GET /login, POST /login; argon2id default parameters)`);
  const t0 = performance.now();
  const sessions = await createSessions(stack, S.sessions);
  out.details.sessionSetup = { sessions: sessions.length, seconds: (performance.now() - t0) / 1000 };

  // Sanity: both sides let a signed-in request through, and Postern refuses an unknown cookie.
  for (const [name, port] of [['postern', stack.nginxPostern.port], ['floor', stack.nginxFloor.port], ['postern (1 worker)', stack.nginx1Postern.port], ['floor (1 worker)', stack.nginx1Floor.port]]) {
    const ok = await request({ port, path: '/', headers: { host: APP_HOST, cookie: `${COOKIE_NAME}=${sessions[0]}` } });
    if (ok.status !== 200 || ok.body !== 'ok\n') throw new Error(`nginx→${name} with a session answered ${ok.status} ${JSON.stringify(ok.body.slice(0, 80))}`);
  }
  const refused = await request({ port: stack.nginxPostern.port, path: '/', headers: { host: APP_HOST, accept: 'text/html', cookie: `${COOKIE_NAME}=not-a-session` } });
  if (refused.status !== 302) throw new Error(`nginx→postern with a bad cookie answered ${refused.status}, expected 302 to the sign-in page`);

  const targets = {
    P1: {
      floor: { url: `http://127.0.0.1:${stack.nginxFloor.port}`, requests: proxiedRequests(sessions) },
      postern: { url: `http://127.0.0.1:${stack.nginxPostern.port}`, requests: proxiedRequests(sessions) },
    },
    P1w1: {
      floor: { url: `http://127.0.0.1:${stack.nginx1Floor.port}`, requests: proxiedRequests(sessions) },
      postern: { url: `http://127.0.0.1:${stack.nginx1Postern.port}`, requests: proxiedRequests(sessions) },
    },
    P2: {
      floor: { url: `http://127.0.0.1:${stack.floor.port}`, requests: verifyRequests(sessions) },
      postern: { url: `http://127.0.0.1:${stack.postern.port}`, requests: verifyRequests(sessions) },
    },
  };

  log('warm-up (JIT, connection pools): 2 s per target');
  for (const fig of ['P1', 'P1w1', 'P2']) {
    for (const side of ['floor', 'postern']) await runAutocannon({ ...targets[fig][side], connections: S.connections, duration: 2 });
  }

  // ---- P1, P2: max req/s, rounds alternating floor and Postern -----------------------------------
  const runs = { P1: { floor: [], postern: [], ratio: [] }, P1w1: { floor: [], postern: [], ratio: [] }, P2: { floor: [], postern: [], ratio: [] } };
  for (let round = 1; round <= S.rounds; round++) {
    const order = round % 2 === 1 ? ['floor', 'postern'] : ['postern', 'floor'];
    for (const fig of ['P1', 'P1w1', 'P2']) {
      const r = {};
      for (const side of order) {
        r[side] = await withCpu(groups, () => runAutocannon({ ...targets[fig][side], connections: S.connections, duration: S.seconds }));
        warn(`${fig} ${side} round ${round}`, check(`${fig} ${side} round ${round}`, r[side]));
        runs[fig][side].push(r[side]);
      }
      runs[fig].ratio.push(r.postern.rps / r.floor.rps);
      log(`round ${round}/${S.rounds} ${fig}: floor ${fmtInt(r.floor.rps)} req/s, postern ${fmtInt(r.postern.rps)} req/s, ratio ${fmt(r.postern.rps / r.floor.rps)}; other processes ${r.postern.cpu.other}% / ${r.floor.cpu.other}% CPU`);
    }
  }
  for (const fig of ['P1', 'P1w1', 'P2']) {
    out.figures[fig] = {
      ...summarise(runs[fig].ratio),
      floorRps: summarise(runs[fig].floor.map((r) => r.rps)),
      posternRps: summarise(runs[fig].postern.map((r) => r.rps)),
      cpuPercent: { floor: medianCpu(runs[fig].floor), postern: medianCpu(runs[fig].postern) },
    };
    out.details[fig] = runs[fig];
  }

  // ---- P7, P8: verify with an app password / Basic account password ÷ with a session cookie ------
  log('P7, P8: direct to /verify/nginx with a session cookie, an app password (Bearer) and Basic + the account password (remembered)');
  const credentialRuns = await measureCredentialRatios({
    port: stack.postern.port,
    sessions,
    appPassword: stack.prepared.appPassword,
    rounds: S.rounds,
    seconds: S.seconds,
    connections: S.connections,
    log,
    onResult: (label, r) => warn(`P7/P8 ${label}`, check(`P7/P8 ${label}`, r)),
  });
  for (const fig of ['P7', 'P8']) out.figures[fig] = { ...summarise(credentialRuns[fig]), sessionRps: summarise(credentialRuns.session) };
  out.figures.P7.tokenRps = summarise(credentialRuns.token);
  out.figures.P8.basicRps = summarise(credentialRuns.basic);
  out.details.P7P8 = credentialRuns;

  // ---- P9: the cost of metrics on verify: P2 with metrics on ÷ off, rounds alternating ----------------
  const p9 = await measureMetricsCost({ stack, groups, requests: verifyRequests(sessions), rounds: S.rounds, seconds: S.seconds, connections: S.connections, log, check, warn });
  out.figures.P9 = p9.figure;
  out.details.P9 = p9.details;
  log(`P9: metrics on ÷ off ${fmt(p9.figure.median)} (${fmt(p9.figure.min)}–${fmt(p9.figure.max)}); on ${fmtInt(p9.figure.onRps.median)} req/s, off ${fmtInt(p9.figure.offRps.median)} req/s`);

  // ---- P3a, P3b: p99 of verify at half of Postern's max rate ------------------------------------
  const maxRate = out.figures.P2.posternRps.median;
  const halfRate = Math.round(maxRate / 2);
  const rawRequests = rawVerifyRequests(sessions);
  // Per round: Postern and the floor at the same steady rate (the floor's p99 is what this machine and
  // harness give on their own), then Postern again under autocannon's overallRate.
  const latencyRounds = async (label) => {
    const paced = [];
    const floor = [];
    const ac = [];
    for (let round = 1; round <= S.rounds; round++) {
      const order = round % 2 === 1 ? ['postern', 'floor'] : ['floor', 'postern'];
      for (const side of order) {
        const port = side === 'postern' ? stack.postern.port : stack.floor.port;
        const p = await withCpu(groups, () => runPaced({ port, requests: rawRequests, rate: halfRate, durationSec: S.seconds, maxConnections: S.connections }));
        warn(`${label} paced ${side} round ${round}`, check(`${label} paced ${side} round ${round}`, p));
        (side === 'postern' ? paced : floor).push(p);
      }
      const a = await withCpu(groups, () =>
        runAutocannon({ ...targets.P2.postern, connections: S.connections, duration: S.seconds, overallRate: halfRate, collectLatency: true }),
      );
      warn(`${label} autocannon round ${round}`, check(`${label} autocannon round ${round}`, a));
      ac.push(a);
      const pr = paced.at(-1);
      log(
        `round ${round}/${S.rounds} ${label} at ${fmtInt(halfRate)} req/s: Postern paced p99 ${fmt(pr.latency.p99, 3)} ms (${fmtInt(pr.achievedRate)} req/s), ` +
          `floor paced p99 ${fmt(floor.at(-1).latency.p99, 3)} ms, Postern autocannon overallRate p99 ${fmt(a.latency.p99, 3)} ms (${fmtInt(a.rps)} req/s); ` +
          `other processes ${pr.cpu.other}% CPU`,
      );
    }
    return { paced, floor, autocannon: ac };
  };

  log(`P3a: verify at half of Postern's max rate (${fmtInt(halfRate)} of ${fmtInt(maxRate)} req/s), idle otherwise`);
  const p3a = await latencyRounds('P3a');

  log(`P3b: the same, while ${S.signins} correct-password sign-ins run at once, continuously`);
  const signins = await startSigninLoops(stack.postern.port, S.signins);
  await sleep(1000);
  const p3b = await latencyRounds('P3b');
  const signinStats = await signins.stop();
  log(`P3b sign-ins: ${fmt(signinStats.signinsPerSec, 1)}/s, statuses ${JSON.stringify(signinStats.statuses)}, p50 ${fmt(signinStats.latency.p50, 0)} ms`);
  if (signinStats.errors || Object.keys(signinStats.statuses).some((s) => s !== '303')) {
    out.warnings.push(`P3b sign-ins: statuses ${JSON.stringify(signinStats.statuses)}, ${signinStats.errors} errors`);
  }

  for (const [key, data] of [['P3a', p3a], ['P3b', p3b]]) {
    out.figures[key] = {
      ...summarise(data.paced.map((r) => r.latency.p99)),
      rate: halfRate,
      maxRate,
      p50: summarise(data.paced.map((r) => r.latency.p50)),
      achievedRate: summarise(data.paced.map((r) => r.achievedRate)),
      p99FromSchedule: summarise(data.paced.map((r) => r.latencyFromSchedule.p99)),
      floorP99: summarise(data.floor.map((r) => r.latency.p99)),
      floorP50: summarise(data.floor.map((r) => r.latency.p50)),
      autocannonOverallRate: {
        p99: summarise(data.autocannon.map((r) => r.latency.p99)),
        p50: summarise(data.autocannon.map((r) => r.latency.p50)),
        achievedRate: summarise(data.autocannon.map((r) => r.rps)),
      },
      cpuPercent: medianCpu(data.paced),
      ...(key === 'P3b' ? { signins: signinStats } : {}),
    };
    out.details[key] = data;
  }

  // ---- P5: a throttled sign-in attempt ----------------------------------------------------------
  log(`P5: throttled sign-in attempts (${S.p5Attempts} per round, one connection, one after another)`);
  const p5 = [];
  for (let round = 1; round <= S.rounds; round++) {
    // A documentation address per round, stated by the trusted peer (loopback) in X-Forwarded-For.
    const ip = `198.51.100.${10 + round}`;
    const xff = { 'x-forwarded-for': ip, 'x-forwarded-proto': 'http' };
    const form = await loginForm({ port: stack.postern.port, host: 'auth.example.com', headers: xff });
    // Exhaust the per-address limit: failures for distinct unknown usernames fill only that scope.
    const exhaust = [];
    for (let i = 0; i < 60 && exhaust.at(-1) !== 429; i++) {
      const r = await postLogin({ port: stack.postern.port, host: 'auth.example.com', form, username: `p5-${round}-${i}`, password: 'wrong', headers: xff });
      exhaust.push(r.status);
    }
    if (exhaust.at(-1) !== 429) throw new Error(`P5: the per-address limit never answered 429 (${exhaust.join(',')})`);
    const body = loginBody(form, 'p5-probe', 'wrong');
    const r = await withCpu(groups, () =>
      runAutocannon({
        url: `http://127.0.0.1:${stack.postern.port}/login`,
        method: 'POST',
        headers: { host: 'auth.example.com', accept: 'text/html', 'content-type': 'application/x-www-form-urlencoded', cookie: form.cookie, ...xff },
        body,
        connections: 1,
        amount: S.p5Attempts,
        collectLatency: true,
      }),
    );
    warn(`P5 round ${round}`, check(`P5 round ${round}`, r, '429'));
    r.failuresToExhaust = exhaust.length - 1;
    p5.push(r);
    log(`round ${round}/${S.rounds} P5: ${exhaust.length - 1} failures filled the limit; throttled attempt p50 ${fmt(r.latency.p50, 3)} ms, p99 ${fmt(r.latency.p99, 3)} ms`);
  }
  out.figures.P5 = {
    ...summarise(p5.map((r) => r.latency.p50)),
    p99: summarise(p5.map((r) => r.latency.p99)),
    attemptsPerSec: summarise(p5.map((r) => r.total / r.duration)),
  };
  out.details.P5 = p5;

  // ---- P5b: time to refuse an unknown name vs a wrong password per hash scheme ---------------------
  log(`P5b: refused sign-ins, unknown name vs argon2id, PBKDF2-600k and bcrypt accounts (${S.p5bAttempts} per kind per round, its own Postern)`);
  const p5b = await measureRefusals({ redisPort: stack.redis.port, rounds: S.rounds, attempts: S.p5bAttempts, log });
  out.figures.P5b = {
    ...summarise(p5b.map((r) => r.spreadPercent)),
    ms: Object.fromEntries(REFUSAL_KINDS.map((k) => [k, summarise(p5b.map((r) => r.medians[k]))])),
  };
  out.details.P5b = p5b;

  // ---- P6: RSS over 1 M verify requests, in a fresh Postern process ------------------------------
  // The process that served P1–P5, sign-ins included: argon2's 19 MiB buffers are allocated by libuv
  // threads, and glibc keeps each thread's arena, so this is what a long-running Postern looks like.
  const longLivedRss = rssBytes(stack.postern.pid);
  out.figures.P6b = { median: longLivedRss / 2 ** 20, min: longLivedRss / 2 ** 20, max: longLivedRss / 2 ** 20 };
  log(`P6: a fresh Postern process, ${fmtInt(S.p6Requests)} verify requests (RSS at start, half-way, end)`);
  await stack.postern.stop();
  const fresh = await startPostern(stack.prepared, { label: 'postern-p6' });
  stack.postern = fresh;
  const p6Url = `http://127.0.0.1:${fresh.port}`;
  const rss = { start: rssBytes(fresh.pid), series: [] };
  const sampler = setInterval(() => {
    try {
      rss.series.push(rssBytes(fresh.pid));
    } catch {
      // gone
    }
  }, 1000);
  const half = Math.floor(S.p6Requests / 2);
  const first = await runAutocannon({ url: p6Url, requests: verifyRequests(sessions), connections: S.connections, amount: half });
  rss.half = rssBytes(fresh.pid);
  const second = await runAutocannon({ url: p6Url, requests: verifyRequests(sessions), connections: S.connections, amount: S.p6Requests - half });
  rss.end = rssBytes(fresh.pid);
  clearInterval(sampler);
  warn('P6 first half', check('P6 first half', first));
  warn('P6 second half', check('P6 second half', second));
  const MB = 2 ** 20;
  out.figures.P6 = {
    median: rss.end / MB,
    min: Math.min(...rss.series, rss.end) / MB,
    max: Math.max(...rss.series, rss.end) / MB,
    startMB: rss.start / MB,
    halfMB: rss.half / MB,
    endMB: rss.end / MB,
    growthSecondHalfMB: (rss.end - rss.half) / MB,
    requests: first.total + second.total,
    rps: (first.total + second.total) / (first.duration + second.duration),
  };
  out.details.P6 = { rssSeriesMB: rss.series.map((b) => +(b / MB).toFixed(1)) };
  log(`P6: RSS start ${fmt(rss.start / MB, 1)} MB, after ${fmtInt(first.total)} ${fmt(rss.half / MB, 1)} MB, after ${fmtInt(first.total + second.total)} ${fmt(rss.end / MB, 1)} MB`);

  // ---- P4: Redis bytes per session ---------------------------------------------------------------
  out.figures.P4 = await measureRedisBytes(stack.redis.client, S.p4Sessions);
  log(`P4: MEMORY USAGE ${fmt(out.figures.P4.median, 1)} B per session on average; used_memory grew ${fmt(out.figures.P4.usedMemoryPerSession, 1)} B per session`);

  // ---- report -----------------------------------------------------------------------------------
  const others = [
    ...['P1', 'P1w1', 'P2'].flatMap((k) => [...runs[k].floor, ...runs[k].postern]),
    ...out.details.P9.off,
    ...out.details.P9.on,
    ...[p3a, p3b].flatMap((d) => [...d.paced, ...d.floor, ...d.autocannon]),
  ].map((r) => r.cpu.other);
  out.otherCpu = { median: median(others), max: Math.max(...others) };
  const report = render(out);
  process.stdout.write(report);
  const dir = path.join(import.meta.dirname, 'results');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${started.toISOString().replace(/[:.]/g, '-')}${QUICK ? '-quick' : ''}.json`);
  out.finished = new Date().toISOString();
  out.table = report;
  fs.writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
  process.stdout.write(`\nresults: ${path.relative(process.cwd(), file)}\n`);
}

function medianCpu(results) {
  const names = Object.keys(results[0]?.cpu ?? {});
  return Object.fromEntries(names.map((n) => [n, median(results.map((r) => r.cpu[n]))]));
}

/**
 * P4. The real sessions (made by signing in) are joined by copies: the value of one real session,
 * written under fresh random ids of the same shape (32 random bytes, base64url) with the same TTL,
 * pipelined. MEMORY USAGE is averaged over a sample of real and copied keys; the growth of
 * used_memory per added key is reported beside it (it also counts Redis's expiry bookkeeping).
 */
async function measureRedisBytes(redis, count) {
  const prefix = 'postern:session:';
  const real = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    real.push(...keys);
  } while (cursor !== '0');
  if (real.length === 0) throw new Error('P4: no session in Redis');
  const template = await redis.get(real[0]);
  const pttl = await redis.pttl(real[0]);
  const usedMemory = async () => Number(/used_memory:(\d+)/.exec(await redis.info('memory'))[1]);
  const before = await usedMemory();
  const copies = [];
  log(`P4: ${real.length} real sessions; adding ${fmtInt(count)} copies of one (value ${template.length} bytes, key ${real[0].length} bytes) by pipelining`);
  for (let done = 0; done < count; ) {
    const pipe = redis.pipeline();
    const n = Math.min(5000, count - done);
    for (let i = 0; i < n; i++) {
      const key = prefix + randomBytes(32).toString('base64url');
      copies.push(key);
      pipe.set(key, template, 'PX', pttl);
    }
    const res = await pipe.exec();
    if (res.some(([err]) => err)) throw new Error('P4: a pipelined SET failed');
    done += n;
  }
  const after = await usedMemory();
  const sample = [...real.slice(0, 1000)];
  for (let i = 0; i < 2000; i++) sample.push(copies[Math.floor(Math.random() * copies.length)]);
  const pipe = redis.pipeline();
  for (const key of sample) pipe.call('MEMORY', 'USAGE', key, 'SAMPLES', '0');
  const usage = (await pipe.exec()).map(([, v]) => Number(v));
  const realUsage = usage.slice(0, Math.min(real.length, 1000));
  const copyUsage = usage.slice(Math.min(real.length, 1000));
  const avg = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
  return {
    median: avg(usage),
    min: Math.min(...usage),
    max: Math.max(...usage),
    sessions: real.length + count,
    realSessions: real.length,
    copies: count,
    sampled: usage.length,
    realAverage: avg(realUsage),
    copyAverage: avg(copyUsage),
    valueBytes: template.length,
    keyBytes: real[0].length,
    usedMemoryPerSession: (after - before) / count,
    dbsize: await redis.dbsize(),
    method: 'real sessions from sign-ins plus copies of one real session value under new random ids (SET … PX, pipelined); MEMORY USAGE … SAMPLES 0 averaged over a sample',
  };
}

function render(out) {
  const f = out.figures;
  const m = out.machine;
  const t = (key) => {
    const tg = TARGETS[key];
    return `${tg.op === '>=' ? '≥' : '≤'} ${tg.value}${tg.unit ? ` ${tg.unit}` : ''}`;
  };
  const p6flat = f.P6.growthSecondHalfMB <= P6_FLAT_MB;
  const rows = [
    ['P1', 'req/s through nginx, valid session, Postern ÷ floor', fmt(f.P1.median), `${fmt(f.P1.min)}–${fmt(f.P1.max)}`, t('P1'), verdict('P1', f.P1.median)],
    ['', `  nginx worker_processes ${out.settings.nginxWorkers}: Postern ${fmtInt(f.P1.posternRps.median)} req/s (${fmtInt(f.P1.posternRps.min)}–${fmtInt(f.P1.posternRps.max)}), floor ${fmtInt(f.P1.floorRps.median)} (${fmtInt(f.P1.floorRps.min)}–${fmtInt(f.P1.floorRps.max)})`],
    ['', `  nginx worker_processes 1 (as the tests run it; nginx-bound): ratio ${fmt(f.P1w1.median)} (${fmt(f.P1w1.min)}–${fmt(f.P1w1.max)}) ${verdict('P1', f.P1w1.median)}; Postern ${fmtInt(f.P1w1.posternRps.median)} req/s, floor ${fmtInt(f.P1w1.floorRps.median)}`],
    ['P2', 'req/s direct to /verify/nginx, Postern ÷ bare node:http', fmt(f.P2.median), `${fmt(f.P2.min)}–${fmt(f.P2.max)}`, t('P2'), verdict('P2', f.P2.median)],
    ['', `  Postern ${fmtInt(f.P2.posternRps.median)} req/s (${fmtInt(f.P2.posternRps.min)}–${fmtInt(f.P2.posternRps.max)}), floor ${fmtInt(f.P2.floorRps.median)} (${fmtInt(f.P2.floorRps.min)}–${fmtInt(f.P2.floorRps.max)})`],
    ['P3a', `p99 ms of verify at half max rate (${fmtInt(f.P3a.rate)} req/s, paced)`, fmt(f.P3a.median, 3), `${fmt(f.P3a.min, 3)}–${fmt(f.P3a.max, 3)}`, t('P3a'), verdict('P3a', f.P3a.median)],
    ['', `  p50 ${fmt(f.P3a.p50.median, 3)} ms; the floor at the same rate: p99 ${fmt(f.P3a.floorP99.median, 3)} ms (${fmt(f.P3a.floorP99.min, 3)}–${fmt(f.P3a.floorP99.max, 3)})`],
    ['', `  autocannon overallRate (bursty, see README): p99 ${fmt(f.P3a.autocannonOverallRate.p99.median, 3)} ms (${fmt(f.P3a.autocannonOverallRate.p99.min, 3)}–${fmt(f.P3a.autocannonOverallRate.p99.max, 3)}) ${verdict('P3a', f.P3a.autocannonOverallRate.p99.median)}`],
    ['P3b', `p99 ms of verify, same rate, ${f.P3b.signins.concurrency} sign-ins at once`, fmt(f.P3b.median, 3), `${fmt(f.P3b.min, 3)}–${fmt(f.P3b.max, 3)}`, t('P3b'), verdict('P3b', f.P3b.median)],
    ['', `  p50 ${fmt(f.P3b.p50.median, 3)} ms; the floor at the same rate and sign-in load: p99 ${fmt(f.P3b.floorP99.median, 3)} ms (${fmt(f.P3b.floorP99.min, 3)}–${fmt(f.P3b.floorP99.max, 3)})`],
    ['', `  ${fmt(f.P3b.signins.signinsPerSec, 1)} sign-ins/s (p50 ${fmt(f.P3b.signins.latency.p50, 0)} ms each); autocannon overallRate p99 ${fmt(f.P3b.autocannonOverallRate.p99.median, 3)} ms ${verdict('P3b', f.P3b.autocannonOverallRate.p99.median)}`],
    ['P4', `Redis bytes per session (MEMORY USAGE, ${fmtInt(f.P4.sessions)} sessions*)`, fmt(f.P4.median, 1), `${fmtInt(f.P4.min)}–${fmtInt(f.P4.max)}`, t('P4'), verdict('P4', f.P4.median)],
    ['', `  value ${f.P4.valueBytes} B + key ${f.P4.keyBytes} B; used_memory grew ${fmt(f.P4.usedMemoryPerSession, 1)} B per session (incl. expiry bookkeeping)`],
    ['P5', 'ms for a throttled sign-in attempt (p50; one connection)', fmt(f.P5.median, 3), `${fmt(f.P5.min, 3)}–${fmt(f.P5.max, 3)}`, t('P5'), verdict('P5', f.P5.median)],
    ['', `  p99 ${fmt(f.P5.p99.median, 3)} ms (${fmt(f.P5.p99.min, 3)}–${fmt(f.P5.p99.max, 3)}), ${fmtInt(f.P5.attemptsPerSec.median)} attempts/s`],
    ['P5b', 'refusal time spread, unknown name vs each hash scheme (% of unknown)', fmt(f.P5b.median, 1), `${fmt(f.P5b.min, 1)}–${fmt(f.P5b.max, 1)}`, t('P5b'), verdict('P5b', f.P5b.median)],
    ['', `  median ms to refuse: ${REFUSAL_KINDS.map((k) => `${k} ${fmt(f.P5b.ms[k].median, 1)}`).join(', ')} (PBKDF2 600 000 iterations, bcrypt cost 12)`],
    ['P6', `RSS MB of Postern after ${fmtInt(f.P6.requests)} verify requests`, fmt(f.P6.endMB, 1), `${fmt(f.P6.min, 1)}–${fmt(f.P6.max, 1)}`, `${t('P6')}, flat`, verdict('P6', f.P6.endMB, p6flat)],
    ['', `  fresh process: start ${fmt(f.P6.startMB, 1)} MB, half-way ${fmt(f.P6.halfMB, 1)} MB, end ${fmt(f.P6.endMB, 1)} MB: second half ${f.P6.growthSecondHalfMB >= 0 ? '+' : ''}${fmt(f.P6.growthSecondHalfMB, 1)} MB (flat = ≤ ${P6_FLAT_MB} MB) at ${fmtInt(f.P6.rps)} req/s`],
    ['P6b', 'RSS MB of the long-lived Postern after P1–P5 (sign-ins too)', fmt(f.P6b.median, 1), '–', t('P6b'), verdict('P6b', f.P6b.median)],
    ['P7', 'req/s direct to verify, app password ÷ session cookie', fmt(f.P7.median), `${fmt(f.P7.min)}–${fmt(f.P7.max)}`, t('P7'), verdict('P7', f.P7.median)],
    ['', `  app password ${fmtInt(f.P7.tokenRps.median)} req/s, session ${fmtInt(f.P7.sessionRps.median)} req/s (same rounds)`],
    ['P8', 'req/s direct to verify, Basic account password (remembered) ÷ session', fmt(f.P8.median), `${fmt(f.P8.min)}–${fmt(f.P8.max)}`, t('P8'), verdict('P8', f.P8.median)],
    ['', `  Basic ${fmtInt(f.P8.basicRps.median)} req/s after the first request's one argon2id hash`],
    ['P9', 'P2 req/s with metrics on ÷ metrics off (same run, two fresh Posterns)', fmt(f.P9.median), `${fmt(f.P9.min)}–${fmt(f.P9.max)}`, t('P9'), verdict('P9', f.P9.median)],
    ['', `  metrics on ${fmtInt(f.P9.onRps.median)} req/s (${fmtInt(f.P9.onRps.min)}–${fmtInt(f.P9.onRps.max)}), off ${fmtInt(f.P9.offRps.median)} (${fmtInt(f.P9.offRps.min)}–${fmtInt(f.P9.offRps.max)}); ${fmtInt(f.P9.verifiesCounted)} verifies counted by the scrape`],
  ];
  const header = ['figure', 'what', 'median', 'spread (min–max)', 'target', 'result'];
  const full = rows.filter((r) => r.length === 6);
  const widths = header.map((h, i) => Math.max(h.length, ...full.map((r) => String(r[i]).length)));
  const line = (r) => r.map((c, i) => String(c).padEnd(widths[i])).join('  ').trimEnd();
  const lines = [];
  lines.push('');
  lines.push(`Postern benchmark, ${out.started}${out.settings.quick ? ' (BENCH_QUICK=1)' : ''}`);
  lines.push(`code: ${m.code.describe}`);
  lines.push(`machine: ${m.cores} cores (${m.cpu}), ${m.memoryGB} GB, ${m.os}; node ${m.node}, nginx ${m.nginx}, redis ${m.redis}, autocannon ${m.autocannon}`);
  lines.push(`every process (load generator, nginx, Postern or the floor, redis) shares these ${m.cores} cores; figures are ratios or latencies from the same run`);
  lines.push('Postern runs as the Docker image runs it: NODE_ENV=production, MALLOC_MMAP_THRESHOLD_=1048576, log.level warn');
  lines.push(`load average at start ${out.loadAverageAtStart.join(' ')}; CPU used by other processes during the rounds: median ${out.otherCpu.median}% (max ${out.otherCpu.max}%) of one core`);
  lines.push(`${out.settings.rounds} rounds × ${out.settings.seconds} s, ${out.settings.connections} connections, ${out.settings.sessions} real sessions reused round-robin`);
  lines.push('');
  lines.push(line(header));
  lines.push(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) lines.push(r.length === 6 ? line(r) : `${''.padEnd(widths[0])}  ${r[1]}`);
  lines.push('');
  lines.push(`* P4: ${fmtInt(f.P4.realSessions)} real sessions (sign-ins) + ${fmtInt(f.P4.copies)} copies of one real session value under new random ids, written with pipelined SET … PX.`);
  lines.push('  P4 "median" is the mean MEMORY USAGE over the sample; P6 spread is the min–max of RSS sampled each second.');
  lines.push('');
  lines.push('CPU, % of one core, median of rounds ("other": processes the bench did not start, and kernel work charged to none)');
  const cpuRows = [
    ['P1 floor', f.P1.cpuPercent.floor],
    ['P1 postern', f.P1.cpuPercent.postern],
    ['P1 floor, nginx 1 worker', f.P1w1.cpuPercent.floor],
    ['P1 postern, nginx 1 worker', f.P1w1.cpuPercent.postern],
    ['P2 floor', f.P2.cpuPercent.floor],
    ['P2 postern', f.P2.cpuPercent.postern],
    ['P3a paced (Postern)', f.P3a.cpuPercent],
    ['P3b paced (Postern)', f.P3b.cpuPercent],
  ];
  const cols = Object.keys(f.P1.cpuPercent.postern);
  const colW = cols.map((c) => Math.max(4, c.length));
  lines.push(`  ${''.padEnd(28)}${cols.map((c, i) => c.padStart(colW[i] + 2)).join('')}`);
  for (const [label, cpu] of cpuRows) lines.push(`  ${label.padEnd(28)}${cols.map((c, i) => String(cpu[c] ?? '').padStart(colW[i] + 2)).join('')}`);
  if (out.warnings.length > 0) {
    lines.push('');
    lines.push('warnings:');
    for (const w of out.warnings) lines.push(`  - ${w}`);
  }
  lines.push('');
  return `${lines.join('\n')}\n`;
}

try {
  await main();
  await stopAll();
  signinAgent.destroy();
  process.exit(0);
} catch (err) {
  process.stderr.write(`\nbench could not run: ${err?.stack ?? err}\n`);
  await stopAll();
  process.exit(1);
}

