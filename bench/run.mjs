// `npm run bench`: Postern against the floor, side by side, in one run on this machine.
// Reports; never fails on a missed target (exit 0 unless the benchmark itself could not run).
// See bench/README.md for what each figure measures.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { codeState } from './lib/code-state.mjs';
import { cpuPercent, cpuSnapshot, rssBytes } from './lib/cpu.mjs';
import { measureCredentialRatios } from './lib/credentials.mjs';
import { loginBody, loginForm, postLogin, request, COOKIE_NAME } from './lib/http.mjs';
import { loadGeneratorName, rawGet, runAutocannon, runPaced, runWrkPaced, useWrk } from './lib/load.mjs';
import { measureMetricsCost } from './lib/metrics-cost.mjs';
import { startPostern } from './lib/postern.mjs';
import { installHooks, stopAll } from './lib/proc.mjs';
import { measureRefusals, REFUSAL_KINDS } from './lib/refusals.mjs';
import { fmt, fmtInt, render } from './lib/report.mjs';
import { measureRuleCount } from './lib/scale-rules.mjs';
import { measureListByUser, measureSessionCount } from './lib/scale-sessions.mjs';
import { measureTokenCount } from './lib/scale-tokens.mjs';
import { measureRedisBytes } from './lib/session-bytes.mjs';
import { compareSides, medianCpu, summarise } from './lib/sides.mjs';
import { signinAgent, startSigninLoops } from './lib/signins.mjs';
import { verifyHeaders, APP_HOST, BENCH_USER, createSessions, processGroups, startStack } from './lib/stack.mjs';
import { median } from './lib/stats.mjs';
import { ensureWrk } from './lib/wrk.mjs';

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
  p10Rules: int('BENCH_P10_RULES', 1000),
  p11Sessions: int('BENCH_P11_SESSIONS', QUICK ? 100_000 : 1_000_000),
  p11SmallSessions: 1000,
  p12Tokens: int('BENCH_P12_TOKENS', 10_000),
  p12SmallTokens: 10,
  p13Samples: QUICK ? 20 : 50,
  p13ProcessRuns: QUICK ? 3 : 5,
  // wrk for the maximum-rate figures where installed (BENCH_LOAD=autocannon to compare).
  loadGenerator: env.BENCH_LOAD || 'wrk',
  // As packaged nginx.conf files have it; a second pair of nginx with 1 worker (as the tests run it) is measured beside.
  nginxWorkers: env.BENCH_NGINX_WORKERS || 'auto',
};


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






// ---------------------------------------------------------------------------------------------

async function main() {
  installHooks();
  const started = new Date();
  if (S.loadGenerator === 'wrk') {
    const wrk = ensureWrk(log);
    if (wrk) useWrk(wrk);
    else log('WARNING: wrk is not installed and could not be: P1, P2, P7–P12 fall back to autocannon, which takes a core of its own (install: apt-get install wrk)');
  }
  S.loadGenerator = loadGeneratorName();
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

  // ---- P1, P2: max req/s and CPU per verify, the floor and Postern in alternating rounds ---------
  const servers = { floor: stack.floor.pid, postern: stack.postern.pid };
  for (const fig of ['P1', 'P1w1', 'P2']) {
    const sides = Object.fromEntries(['floor', 'postern'].map((side) => [side, { ...targets[fig][side], pid: servers[side] }]));
    const r = await compareSides({ label: fig, sides, rounds: S.rounds, seconds: S.seconds, connections: S.connections, groups, log, check, warn });
    out.figures[fig] = r.figure;
    out.details[fig] = r.runs;
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

  // ---- P10–P13: cost that does not grow with rules, sessions and app passwords -----------------------
  const common = { stack, groups, rounds: S.rounds, seconds: S.seconds, connections: S.connections, log, check, warn };
  const p10 = await measureRuleCount({ ...common, count: S.p10Rules, requests: verifyRequests(sessions) });
  out.figures.P10 = p10.figure;
  out.details.P10 = p10.details;
  const p11 = await measureSessionCount({ ...common, sessions, user: BENCH_USER.name, small: S.p11SmallSessions, large: S.p11Sessions });
  out.figures.P11 = p11.figure;
  out.details.P11 = p11.details;
  try {
    out.figures.P13 = await measureListByUser({ stack, redis: p11.large, usersInRedis: p11.scaleUsers, samples: S.p13Samples, processRuns: S.p13ProcessRuns, log });
  } finally {
    await p11.large.stop();
  }
  const { cookie: _cookie, ...anonymous } = verifyHeaders(sessions[0]);
  const tokenRequests = [{ method: 'GET', path: '/verify/nginx', headers: { ...anonymous, authorization: `Bearer ${stack.prepared.appPassword}` } }];
  const p12 = await measureTokenCount({ ...common, small: S.p12SmallTokens, large: S.p12Tokens, requests: tokenRequests });
  out.figures.P12 = p12.figure;
  out.details.P12 = p12.details;

  // ---- P3a, P3b: p99 of verify at half of Postern's max rate ------------------------------------
  const maxRate = out.figures.P2.postern.rps.median;
  const halfRate = Math.round(maxRate / 2);
  const rawRequests = rawVerifyRequests(sessions);
  // Per round: Postern and the floor at the same steady rate (the floor's p99 is what this machine and
  // harness give on their own), then Postern again under autocannon's overallRate.
  const latencyRounds = async (label) => {
    const paced = [];
    const floor = [];
    const ac = [];
    const wrkPaced = { postern: [], floor: [] };
    for (let round = 1; round <= S.rounds; round++) {
      const order = round % 2 === 1 ? ['postern', 'floor'] : ['floor', 'postern'];
      for (const side of order) {
        const port = side === 'postern' ? stack.postern.port : stack.floor.port;
        const p = await withCpu(groups, () => runPaced({ port, requests: rawRequests, rate: halfRate, durationSec: S.seconds, maxConnections: S.connections }));
        warn(`${label} paced ${side} round ${round}`, check(`${label} paced ${side} round ${round}`, p));
        (side === 'postern' ? paced : floor).push(p);
      }
      for (const side of order) {
        const w = await runWrkPaced({ ...targets.P2[side], rate: halfRate, duration: S.seconds });
        if (w) {
          warn(`${label} wrk paced ${side} round ${round}`, check(`${label} wrk paced ${side} round ${round}`, w));
          wrkPaced[side].push(w);
        }
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
    return { paced, floor, autocannon: ac, wrkPaced };
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
      ...(data.wrkPaced.postern.length > 0
        ? {
            wrkPaced: {
              p99: summarise(data.wrkPaced.postern.map((r) => r.latency.p99)),
              p50: summarise(data.wrkPaced.postern.map((r) => r.latency.p50)),
              achievedRate: summarise(data.wrkPaced.postern.map((r) => r.rps)),
              floorP99: summarise(data.wrkPaced.floor.map((r) => r.latency.p99)),
            },
          }
        : {}),
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
  out.figures.P4 = await measureRedisBytes(stack.redis.client, S.p4Sessions, log);
  log(`P4: MEMORY USAGE ${fmt(out.figures.P4.median, 1)} B per session on average; used_memory grew ${fmt(out.figures.P4.usedMemoryPerSession, 1)} B per session`);

  // ---- report -----------------------------------------------------------------------------------
  const others = [
    ...['P1', 'P1w1', 'P2'].flatMap((k) => [...out.details[k].floor, ...out.details[k].postern]),
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

