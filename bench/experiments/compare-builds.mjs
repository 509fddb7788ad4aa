// `node bench/experiments/compare-builds.mjs save` keeps the current build (dist/) as the BASE, in
// bench/results/base-dist/ (inside the repo, so it resolves the same node_modules). Change src/, run
// `npm run build`, then `node bench/experiments/compare-builds.mjs`: the floor, the base and the
// current build run side by side on one Redis, with the same sessions, in alternating rounds:
//   P2   req/s of direct verify (50 connections), ratio to the floor, and CPU µs per request (the
//        server's user + system time over the requests it answered: steadier than req/s here);
//   P3a  p50/p99 of verify, paced at BENCH_RATE (default 5000 req/s);
//   P5   p50/p99 of a throttled sign-in attempt (one connection, 1000 attempts).
// BENCH_SECONDS (3), BENCH_ROUNDS (4). Nothing here is part of `npm test`.
import fs from 'node:fs';
import path from 'node:path';
import { cpuSeconds } from '../lib/cpu.mjs';
import { REPO_DIR } from '../../test/support/examples.js';
import { loginBody, loginForm, postLogin } from '../lib/http.mjs';
import { rawGet, runAutocannon, runPaced } from '../lib/load.mjs';
import { startPostern } from '../lib/postern.mjs';
import { installHooks, runScript } from '../lib/proc.mjs';
import { median } from '../lib/stats.mjs';
import { createSessions, startStack, verifyHeaders } from '../lib/stack.mjs';

const BASE_DIR = path.join(REPO_DIR, 'bench', 'results', 'base-dist');
const log = (msg) => process.stderr.write(`[compare] ${msg}\n`);

if (process.argv[2] === 'save') {
  fs.rmSync(BASE_DIR, { recursive: true, force: true });
  fs.cpSync(path.join(REPO_DIR, 'dist'), BASE_DIR, { recursive: true });
  log(`saved dist/ as the base in ${path.relative(REPO_DIR, BASE_DIR)}`);
  process.exit(0);
}
if (!fs.existsSync(BASE_DIR)) throw new Error('no base build: run `node bench/experiments/compare-builds.mjs save` before changing src/');

const seconds = Number(process.env.BENCH_SECONDS ?? 3);
const rounds = Number(process.env.BENCH_ROUNDS ?? 4);
const rate = Number(process.env.BENCH_RATE ?? 5000);

async function main() {
  installHooks();
  const stack = await startStack({ log, withNginx: false });
  const base = await startPostern(stack.prepared, { label: 'base', cli: path.join(BASE_DIR, 'cli', 'main.js') });
  const sessions = await createSessions(stack, 50);
  const servers = { floor: stack.floor, base, current: stack.postern };
  const names = Object.keys(servers);
  const verify = sessions.map((s) => ({ method: 'GET', path: '/verify/nginx', headers: verifyHeaders(s) }));
  const raw = sessions.map((s) => rawGet('/verify/nginx', verifyHeaders(s)));
  const results = Object.fromEntries(names.map((n) => [n, { rps: [], cpuUs: [], pacedP50: [], pacedP99: [], p5P50: [], p5P99: [] }]));
  let address = 10;

  for (const n of names) await runAutocannon({ url: `http://127.0.0.1:${servers[n].port}`, requests: verify, connections: 50, duration: 2 });
  for (let round = 1; round <= rounds; round++) {
    for (const n of round % 2 ? names : [...names].reverse()) {
      const { port, pid } = servers[n];
      const r = results[n];
      const cpu0 = cpuSeconds(pid);
      const p2 = await runAutocannon({ url: `http://127.0.0.1:${port}`, requests: verify, connections: 50, duration: seconds });
      r.rps.push(p2.rps);
      r.cpuUs.push(((cpuSeconds(pid) - cpu0) * 1e6) / p2.total);
      const paced = await runPaced({ port, requests: raw, rate, durationSec: seconds, maxConnections: 50 });
      r.pacedP50.push(paced.latency.p50);
      r.pacedP99.push(paced.latency.p99);
      if (n === 'floor') continue;
      const xff = { 'x-forwarded-for': `198.51.100.${address++}`, 'x-forwarded-proto': 'http' };
      const form = await loginForm({ port, host: 'auth.example.com', headers: xff });
      for (let i = 0; i < 60; i++) {
        if ((await postLogin({ port, host: 'auth.example.com', form, username: `cmp-${address}-${i}`, password: 'wrong', headers: xff })).status === 429) break;
      }
      const body = loginBody(form, 'cmp-probe', 'wrong');
      const headers = { host: 'auth.example.com', accept: 'text/html', 'content-type': 'application/x-www-form-urlencoded', cookie: form.cookie, ...xff };
      const p5 = await runAutocannon({ url: `http://127.0.0.1:${port}/login`, method: 'POST', headers, body, connections: 1, amount: 1000, collectLatency: true });
      r.p5P50.push(p5.latency.p50);
      r.p5P99.push(p5.latency.p99);
    }
    log(`round ${round}/${rounds} done`);
  }

  const fmt = (values, digits) => (values.length ? `${median(values).toFixed(digits)} (${Math.min(...values).toFixed(digits)}–${Math.max(...values).toFixed(digits)})` : '–');
  const floorRps = median(results.floor.rps);
  console.log(`${rounds} rounds × ${seconds} s; medians (min–max)`);
  console.log(['', 'P2 req/s', 'ratio', 'CPU µs/req', `paced p50 ms @${rate}`, 'paced p99 ms', 'P5 p50 ms', 'P5 p99 ms'].join(' | '));
  for (const n of names) {
    const r = results[n];
    console.log([n, fmt(r.rps, 0), (median(r.rps) / floorRps).toFixed(2), fmt(r.cpuUs, 0), fmt(r.pacedP50, 2), fmt(r.pacedP99, 2), fmt(r.p5P50, 3), fmt(r.p5P99, 2)].join(' | '));
  }
}

await runScript('compare-builds', main);
