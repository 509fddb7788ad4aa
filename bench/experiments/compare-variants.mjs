// `node bench/experiments/compare-variants.mjs` (after `npm run build`): P1 (through nginx, the
// example config, worker_processes auto) and P2 (direct verify, real sessions, nginx's headers)
// against the floor and against each variant of variant-server.mjs, rounds alternating, so a
// proposed change to src/ is measured before it is made.
//   BENCH_SECONDS (5), BENCH_ROUNDS (3), BENCH_CONNECTIONS (50), BENCH_VARIANTS (comma list)
import path from 'node:path';
import { COOKIE_NAME } from '../lib/http.mjs';
import { rawGet, runAutocannon, runPaced } from '../lib/load.mjs';
import { childPids, cpuPercent, cpuSnapshot } from '../lib/cpu.mjs';
import { freePort, installHooks, spawnTracked, stopAll, waitForPort } from '../lib/proc.mjs';
import { startNginx } from '../lib/nginx.mjs';
import { verifyHeaders, APP_HOST, createSessions, startStack } from '../lib/stack.mjs';
import { median } from '../lib/stats.mjs';

const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 50);
const variants = (process.env.BENCH_VARIANTS ?? 'baseline,autopipeline,cache,cache+pipeline').split(',');
const log = (msg) => process.stderr.write(`[variants] ${msg}\n`);

async function main() {
  installHooks();
  const stack = await startStack({ log, withNginx: false });
  const sessions = await createSessions(stack, 50);
  await stack.postern.stop();
  const requests = sessions.map((s) => ({ method: 'GET', path: '/verify/nginx', headers: verifyHeaders(s) }));
  const proxied = sessions.map((s) => ({ method: 'GET', path: '/', headers: { host: APP_HOST, 'user-agent': 'postern-bench', accept: '*/*', cookie: `${COOKIE_NAME}=${s}` } }));
  const servers = { floor: { port: stack.floor.port, pid: stack.floor.pid } };
  for (const v of variants) {
    const port = await freePort();
    const logFile = path.join(stack.prepared.dir, `variant-${v}.log`);
    const child = spawnTracked(process.execPath, [path.join(import.meta.dirname, 'variant-server.mjs'), v, String(port)], { cwd: stack.prepared.dir, env: { PATH: process.env.PATH }, logFile });
    await waitForPort(port, `variant ${v}`, child, 20_000, logFile);
    servers[v] = { port, pid: child.pid };
  }
  const names = Object.keys(servers);
  for (const name of names) servers[name].nginx = await startNginx(servers[name].port, `variant-${name.replace(/\W/g, '_')}`, { workers: 'auto' });
  const load = {
    P1: (name) => ({ url: `http://127.0.0.1:${servers[name].nginx.port}`, requests: proxied }),
    P2: (name) => ({ url: `http://127.0.0.1:${servers[name].port}`, requests }),
  };
  for (const fig of ['P1', 'P2']) for (const name of names) await runAutocannon({ ...load[fig](name), connections, duration: 2 });
  const results = { P1: {}, P2: {} };
  for (let round = 1; round <= rounds; round++) {
    const order = round % 2 === 1 ? names : [...names].reverse();
    for (const fig of ['P1', 'P2']) {
      for (const name of order) {
        const groups = { server: [servers[name].pid], redis: [stack.redis.pid], nginx: [servers[name].nginx.pid, ...childPids(servers[name].nginx.pid)] };
        const before = cpuSnapshot(groups);
        const r = await runAutocannon({ ...load[fig](name), connections, duration: seconds });
        const c = cpuPercent(before, cpuSnapshot(groups));
        if (r.non2xx || r.errors) log(`WARNING ${fig} ${name}: statuses ${JSON.stringify(r.statusCodes)}, ${r.errors} errors`);
        (results[fig][name] ??= []).push({ rps: r.rps, cpu: c.server, other: c.other });
        log(`round ${round} ${fig} ${name}: ${Math.round(r.rps)} req/s, server ${c.server}% CPU, other processes ${c.other}%`);
      }
    }
  }
  // P3a-like: p99 at one steady rate for all (half of the baseline's, else of the slowest, P2 median).
  const p2 = (name) => median(results.P2[name].map((x) => x.rps));
  const rate = Math.round((variants.includes('baseline') ? p2('baseline') : Math.min(...names.map(p2))) / 2);
  const raw = requests.map((r) => rawGet(r.path, r.headers));
  const p99 = {};
  for (let round = 1; round <= rounds; round++) {
    const order = round % 2 === 1 ? names : [...names].reverse();
    for (const name of order) {
      const r = await runPaced({ port: servers[name].port, requests: raw, rate, durationSec: seconds, maxConnections: connections });
      (p99[name] ??= []).push(r.latency.p99);
      log(`round ${round} paced ${rate} req/s ${name}: p50 ${r.latency.p50.toFixed(3)} ms, p99 ${r.latency.p99.toFixed(3)} ms`);
    }
  }
  for (const fig of ['P1', 'P2']) {
    const rps = (name) => results[fig][name].map((x) => x.rps);
    const floor = median(rps('floor'));
    const base = variants.includes('baseline') ? median(rps('baseline')) : undefined;
    process.stdout.write(
      `\n${fig === 'P1' ? 'P1: through nginx (worker_processes auto)' : 'P2: direct /verify/nginx'}, ${rounds} rounds × ${seconds} s, ${connections} connections (median, min–max)\n`,
    );
    process.stdout.write(`${'variant'.padEnd(15)} ${'req/s'.padStart(8)}  ${'spread'.padEnd(15)} ÷ floor  ÷ baseline  server CPU %\n`);
    for (const name of names) {
      const m = median(rps(name));
      process.stdout.write(
        `${name.padEnd(15)} ${String(Math.round(m)).padStart(8)}  ${`${Math.round(Math.min(...rps(name)))}–${Math.round(Math.max(...rps(name)))}`.padEnd(15)} ${(m / floor).toFixed(2).padStart(7)}  ${base ? (m / base).toFixed(2).padStart(10) : ''}  ${median(results[fig][name].map((x) => x.cpu)).toString().padStart(12)}\n`,
      );
    }
  }
  process.stdout.write(`\nP3a-like: p99 ms of direct verify at a steady ${rate} req/s (paced), median (min–max)\n`);
  for (const name of names) {
    process.stdout.write(`${name.padEnd(15)} ${median(p99[name]).toFixed(3).padStart(8)}  (${Math.min(...p99[name]).toFixed(3)}–${Math.max(...p99[name]).toFixed(3)})\n`);
  }
}

try {
  await main();
  await stopAll();
  process.exit(0);
} catch (err) {
  process.stderr.write(`\ncompare-variants could not run: ${err?.stack ?? err}\n`);
  await stopAll();
  process.exit(1);
}
