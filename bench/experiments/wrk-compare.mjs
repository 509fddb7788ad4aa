// Side by side with wrk (1 thread, 50 connections), in alternating rounds: the floor, the BASE build
// (`node bench/experiments/compare-builds.mjs save`) and the current build, on one Redis with the same
// sessions. On a machine shared with other work, CPU µs per request (user + system time of the
// server, from /proc/<pid>/stat, over the round ÷ its requests) is the figure to compare; req/s is
// shown beside it.
//   direct       GET /verify/nginx with the headers nginx's /_postern location sends (P2's load)
//   nginx        GET / on app.example.com through nginx (worker_processes 1, the nginx example): P1
//   credentials  direct verify with a session cookie, an app password (Bearer) and Basic with the
//                account password (remembered pair): P7 = token ÷ session, P8 = basic ÷ session
// WRK_MODES (direct,nginx,credentials), WRK_SECONDS (4), WRK_ROUNDS (5), WRK_CONNECTIONS (50);
// WRK_CURRENT_NODE_ARGS: node options for the current build only (e.g. a V8 flag against the same build saved as base).
//   npm run build && node bench/experiments/wrk-compare.mjs
import fs from 'node:fs';
import path from 'node:path';
import { childPids } from '../lib/cpu.mjs';
import { REPO_DIR } from '../../test/support/examples.js';
import { COOKIE_NAME } from '../lib/http.mjs';
import { startNginx } from '../lib/nginx.mjs';
import { startPostern } from '../lib/postern.mjs';
import { installHooks, runScript } from '../lib/proc.mjs';
import { median } from '../lib/stats.mjs';
import { credentialTargets, checkCredentials } from '../lib/credentials.mjs';
import { APP_HOST, createSessions, startStack, verifyHeaders } from '../lib/stack.mjs';
import { runWrk } from './wrk.mjs';

const BASE_DIR = path.join(REPO_DIR, 'bench', 'results', 'base-dist');
const log = (msg) => process.stderr.write(`[wrk-compare ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
const modes = (process.env.WRK_MODES ?? 'direct,nginx,credentials').split(',');
const seconds = Number(process.env.WRK_SECONDS ?? 4);
const rounds = Number(process.env.WRK_ROUNDS ?? 5);
const connections = Number(process.env.WRK_CONNECTIONS ?? 50);

const fmt = (values, digits = 0) => (values.length ? `${median(values).toFixed(digits)} (${Math.min(...values).toFixed(digits)}–${Math.max(...values).toFixed(digits)})` : '–');

/** Rounds over `targets` ({ name: { port, requests, pids } }), the order rotating each round. */
async function measure(title, targets) {
  const names = Object.keys(targets);
  for (const n of names) await runWrk({ ...targets[n], seconds: 2, connections });
  const runs = Object.fromEntries(names.map((n) => [n, []]));
  for (let round = 0; round < rounds; round++) {
    const k = round % names.length;
    const order = round % 2 ? [...names].reverse() : [...names.slice(k), ...names.slice(0, k)];
    for (const n of order) {
      const r = await runWrk({ ...targets[n], seconds, connections });
      if (r.non2xx || r.errors || r.timeouts) log(`${title} ${n}: non-2xx ${r.non2xx}, socket errors ${r.errors}, timeouts ${r.timeouts}`);
      runs[n].push(r);
    }
    log(`${title} round ${round + 1}/${rounds}: ${names.map((n) => `${n} ${Math.round(runs[n][round].rps)} req/s ${runs[n][round].cpuUs.toFixed(1)} µs`).join(', ')}`);
  }
  return runs;
}

function table(title, runs, against) {
  const lines = [`\n${title} — ${rounds} rounds × ${seconds} s, wrk -t1 -c${connections}; median (min–max)`, ['', 'req/s', `req/s ÷ ${against}`, 'CPU µs/req', `CPU ÷ ${against}`, 'user µs/req', 'system µs/req'].join(' | ')];
  for (const [n, rs] of Object.entries(runs)) {
    const ratio = rs.map((r, i) => r.rps / runs[against][i].rps);
    const cpu = rs.map((r, i) => r.cpuUs / runs[against][i].cpuUs);
    lines.push([n, fmt(rs.map((r) => r.rps)), fmt(ratio, 2), fmt(rs.map((r) => r.cpuUs), 1), fmt(cpu, 2), fmt(rs.map((r) => r.userUs), 1), fmt(rs.map((r) => r.systemUs), 1)].join(' | '));
  }
  return lines.join('\n');
}

async function main() {
  installHooks();
  const posternNodeArgs = (process.env.WRK_CURRENT_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const stack = await startStack({ log, withNginx: false, posternNodeArgs });
  const servers = { floor: stack.floor };
  if (fs.existsSync(BASE_DIR)) servers.base = await startPostern(stack.prepared, { label: 'base', cli: path.join(BASE_DIR, 'cli', 'main.js') });
  servers.current = stack.postern;
  const sessions = await createSessions(stack, 50);
  const out = [];

  if (modes.includes('direct')) {
    const requests = sessions.map((s) => ({ path: '/verify/nginx', headers: verifyHeaders(s) }));
    const targets = Object.fromEntries(Object.entries(servers).map(([n, s]) => [n, { port: s.port, requests, pids: [s.pid] }]));
    out.push(table('direct verify (P2 load)', await measure('direct', targets), 'floor'));
  }
  if (modes.includes('nginx')) {
    const requests = sessions.map((s) => ({ path: '/', headers: { host: APP_HOST, 'user-agent': 'postern-bench', accept: '*/*', cookie: `${COOKIE_NAME}=${s}` } }));
    const targets = {};
    for (const [n, s] of Object.entries(servers)) {
      const nginx = await startNginx(s.port, `wrk-${n}`, { workers: 1 });
      targets[n] = { port: nginx.port, requests, pids: [s.pid], nginxPids: [nginx.pid, ...childPids(nginx.pid)] };
    }
    out.push(table('through nginx, 1 worker (P1 load): CPU of the verify server per request', await measure('nginx', targets), 'floor'));
  }
  if (modes.includes('credentials')) {
    // Every build's three kinds in the same rounds, so that builds compare as well as kinds.
    const targets = {};
    for (const [n, s] of Object.entries(servers)) {
      if (n === 'floor') continue;
      const t = credentialTargets(s.port, sessions, stack.prepared.appPassword);
      await checkCredentials(s.port, t);
      for (const kind of ['session', 'token', 'basic']) targets[`${n} ${kind}`] = { port: s.port, requests: t[kind].requests, pids: [s.pid] };
    }
    const runs = await measure('credentials', targets);
    const builds = Object.keys(servers).filter((n) => n !== 'floor');
    out.push(table('credentials (direct verify): session cookie, app password (Bearer), Basic account password', runs, `${builds[0]} session`));
    for (const n of builds) {
      const per = (kind, key) => runs[`${n} ${kind}`].map((r, i) => r[key] / runs[`${n} session`][i][key]);
      out.push(`${n}: P7 req/s ratio ${fmt(per('token', 'rps'), 2)}, CPU ÷ session ${fmt(per('token', 'cpuUs'), 2)}; P8 req/s ratio ${fmt(per('basic', 'rps'), 2)}, CPU ÷ session ${fmt(per('basic', 'cpuUs'), 2)}`);
    }
  }
  process.stdout.write(`${out.join('\n')}\n`);
}

await runScript('wrk-compare', main);
