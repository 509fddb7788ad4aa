// `node bench/experiments/signin-pressure.mjs` (after `npm run build`): what sign-ins cost the verify
// path (P3b) and the process's memory (P6b), for a few ways of running the password hashing.
// Each setting is a variant-server.mjs process (`cache` variant, i.e. with a 500 ms session read
// cache, as src/main.ts wires it now) with 20 concurrent loops of correct-password sign-ins
// (argon2id, default parameters) while verify is driven at a steady rate; rounds alternate.
//   BENCH_SECONDS (5), BENCH_ROUNDS (3), BENCH_RATE (10000 verify req/s)
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { rssBytes } from '../lib/cpu.mjs';
import { COOKIE_NAME, loginForm, postLogin } from '../lib/http.mjs';
import { rawGet, runPaced } from '../lib/load.mjs';
import { freePort } from '../../test/support/free-port.js';
import { installHooks, runScript, spawnLogged, waitForChild } from '../lib/proc.mjs';
import { APP_HOST, BENCH_USER, createSessions, startStack } from '../lib/stack.mjs';
import { median } from '../lib/stats.mjs';

const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const rate = Number(process.env.BENCH_RATE ?? 10_000);
const log = (msg) => process.stderr.write(`[signin-pressure] ${msg}\n`);
const cores = os.availableParallelism();

// main.ts runs max(1, cores − 1) hashes at once; HASH_CONCURRENCY sets it for the variant server.
const ONE_LESS = String(Math.max(1, cores - 1));
const SETTINGS = {
  [`hash concurrency ${ONE_LESS} (as main.ts), glibc defaults`]: { HASH_CONCURRENCY: ONE_LESS },
  [`hash concurrency ${ONE_LESS}, MALLOC_ARENA_MAX=2 (the image until now)`]: { HASH_CONCURRENCY: ONE_LESS, MALLOC_ARENA_MAX: '2' },
  // A fixed mmap threshold: glibc then serves argon2's 19 MiB buffers with mmap and unmaps them on
  // free, instead of raising the threshold and keeping them in each libuv thread's arena.
  [`hash concurrency ${ONE_LESS}, MALLOC_MMAP_THRESHOLD_=1 MiB`]: { HASH_CONCURRENCY: ONE_LESS, MALLOC_MMAP_THRESHOLD_: '1048576' },
  [`hash concurrency ${ONE_LESS}, both`]: { HASH_CONCURRENCY: ONE_LESS, MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '1048576' },
};

async function signinLoops(port, n, agent) {
  const forms = await Promise.all(Array.from({ length: n }, () => loginForm({ port, host: 'auth.example.com', agent })));
  let running = true;
  let ok = 0;
  let other = 0;
  const started = performance.now();
  const loops = forms.map(async (form) => {
    while (running) {
      try {
        const r = await postLogin({ port, host: 'auth.example.com', form, username: BENCH_USER.name, password: BENCH_USER.password, agent });
        if (r.status === 303) ok++;
        else other++;
      } catch {
        other++;
        await sleep(10);
      }
    }
  });
  return async () => {
    running = false;
    await Promise.all(loops);
    return { perSec: ok / ((performance.now() - started) / 1000), failed: other };
  };
}

async function main() {
  installHooks();
  const stack = await startStack({ log, withNginx: false, withFloor: false });
  const sessions = await createSessions(stack, 50);
  await stack.postern.stop();
  const raw = sessions.map((s) =>
    rawGet('/verify/nginx', {
      host: APP_HOST,
      'x-original-url': `http://${APP_HOST}/`,
      'x-original-method': 'GET',
      'x-forwarded-proto': 'http',
      'x-forwarded-host': APP_HOST,
      'x-forwarded-uri': '/',
      'x-forwarded-for': '127.0.0.1',
      accept: '*/*',
      cookie: `${COOKIE_NAME}=${s}`,
    }),
  );
  const servers = {};
  for (const [name, env] of Object.entries(SETTINGS)) {
    const port = await freePort();
    const logFile = path.join(stack.prepared.dir, `pressure-${Object.keys(servers).length}.log`);
    const child = spawnLogged(process.execPath, [path.join(import.meta.dirname, 'variant-server.mjs'), 'cache', String(port)], { cwd: stack.prepared.dir, env: { PATH: process.env.PATH, ...env }, logFile });
    await waitForChild(port, name, child, 20_000, logFile);
    servers[name] = { port, pid: child.pid, p99: [], p50: [], signins: [], rssStart: rssBytes(child.pid) };
  }
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const names = Object.keys(servers);
  for (let round = 1; round <= rounds; round++) {
    for (const name of round % 2 === 1 ? names : [...names].reverse()) {
      const s = servers[name];
      const stop = await signinLoops(s.port, 20, agent);
      await sleep(1000);
      const r = await runPaced({ port: s.port, requests: raw, rate, durationSec: seconds, maxConnections: 50 });
      const si = await stop();
      s.p99.push(r.latency.p99);
      s.p50.push(r.latency.p50);
      s.signins.push(si.perSec);
      log(`round ${round} ${name}: verify p50 ${r.latency.p50.toFixed(2)} ms, p99 ${r.latency.p99.toFixed(2)} ms; ${si.perSec.toFixed(1)} sign-ins/s (${si.failed} failed); RSS ${(rssBytes(s.pid) / 2 ** 20).toFixed(0)} MB`);
    }
  }
  agent.destroy();
  process.stdout.write(`\nverify at ${rate} req/s (paced) while 20 sign-ins run at once; ${rounds} rounds × ${seconds} s; ${cores} cores\n`);
  process.stdout.write(`${'setting'.padEnd(48)} ${'p99 ms'.padStart(8)} ${'(min–max)'.padEnd(15)} ${'p50 ms'.padStart(7)} ${'sign-ins/s'.padStart(11)}  RSS MB start → end\n`);
  for (const name of names) {
    const s = servers[name];
    process.stdout.write(
      `${name.padEnd(48)} ${median(s.p99).toFixed(2).padStart(8)} ${`(${Math.min(...s.p99).toFixed(1)}–${Math.max(...s.p99).toFixed(1)})`.padEnd(15)} ${median(s.p50).toFixed(2).padStart(7)} ${median(s.signins).toFixed(1).padStart(11)}  ${(s.rssStart / 2 ** 20).toFixed(0)} → ${(rssBytes(s.pid) / 2 ** 20).toFixed(0)}\n`,
    );
  }
}

await runScript('signin-pressure', main);
