// `node bench/profile.mjs` (after `npm run build`): Postern under `node --cpu-prof`, driven with the
// P2 load (direct GET /verify/nginx with nginx's headers and real sessions, 50 connections), then a
// summary of where its main thread spent the time during the load only.
//
//   BENCH_PROFILE_SECONDS (default 20)   length of the profiled load
//   BENCH_CONNECTIONS     (default 50)
//   BENCH_PROFILE_LOAD    verify (default) | throttled: POST /login from an address whose
//                         per-address limit is exhausted (the P5 path), one connection
// Writes bench/results/profile-<timestamp>.cpuprofile and .txt.
import fs from 'node:fs';
import path from 'node:path';
import { loginBody, loginForm, postLogin } from './lib/http.mjs';
import { runAutocannon } from './lib/load.mjs';
import { installHooks, makeTempDir, runScript } from './lib/proc.mjs';
import { verifyHeaders, createSessions, startStack } from './lib/stack.mjs';
import { render, summarise } from './profile-summary.mjs';
import { codeState } from './lib/code-state.mjs';

const seconds = Number(process.env.BENCH_PROFILE_SECONDS ?? 20);
const mode = process.env.BENCH_PROFILE_LOAD ?? 'verify';
if (!['verify', 'throttled'].includes(mode)) throw new Error(`BENCH_PROFILE_LOAD must be verify or throttled, got ${mode}`);
const connections = mode === 'throttled' ? 1 : Number(process.env.BENCH_CONNECTIONS ?? 50);
const log = (msg) => process.stderr.write(`[profile] ${msg}\n`);
const nowUs = () => Number(process.hrtime.bigint() / 1000n);

async function main() {
  installHooks();
  const profDir = makeTempDir('postern-bench-cpuprof-');
  const stack = await startStack({ log, withNginx: false, withFloor: false, posternNodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profDir}`] });
  const sessions = await createSessions(stack, 50);
  const requests = sessions.map((s) => ({ method: 'GET', path: '/verify/nginx', headers: verifyHeaders(s) }));
  let load = { url: `http://127.0.0.1:${stack.postern.port}`, requests, connections };
  if (mode === 'throttled') {
    const xff = { 'x-forwarded-for': '198.51.100.99', 'x-forwarded-proto': 'http' };
    const host = 'auth.example.com';
    const form = await loginForm({ port: stack.postern.port, host, headers: xff });
    for (let i = 0; i < 60; i++) {
      const r = await postLogin({ port: stack.postern.port, host, form, username: `profile-${i}`, password: 'wrong', headers: xff });
      if (r.status === 429) break;
    }
    load = {
      url: `http://127.0.0.1:${stack.postern.port}/login`,
      method: 'POST',
      headers: { host, accept: 'text/html', 'content-type': 'application/x-www-form-urlencoded', cookie: form.cookie, ...xff },
      body: loginBody(form, 'profile-probe', 'wrong'),
      connections,
    };
  }
  log('warm-up 3 s');
  await runAutocannon({ ...load, duration: 3 });
  log(`profiled load (${mode}): ${seconds} s, ${connections} connections`);
  const fromUs = nowUs();
  const r = await runAutocannon({ ...load, duration: seconds });
  const toUs = nowUs();
  log(`${Math.round(r.rps)} req/s, statuses ${JSON.stringify(r.statusCodes)}`);
  await stack.postern.stop();
  const file = fs.readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no .cpuprofile was written to ${profDir}`);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const outDir = path.join(import.meta.dirname, 'results');
  fs.mkdirSync(outDir, { recursive: true });
  const kept = path.join(outDir, `profile-${mode}-${stamp}.cpuprofile`);
  fs.copyFileSync(path.join(profDir, file), kept);
  const profile = JSON.parse(fs.readFileSync(kept, 'utf8'));
  const text =
    `code: ${codeState().describe}\n` +
    (mode === 'verify'
      ? `Postern verify path under the P2 load (${Math.round(r.rps)} req/s, ${connections} connections, ${seconds} s), load window only\n`
      : `Postern throttled sign-in path, the P5 load (${Math.round((r.total ?? 0) / r.duration)} attempts/s, statuses ${JSON.stringify(r.statusCodes)}, one connection, ${seconds} s), load window only\n`) +
    render(summarise(profile, { fromUs, toUs }), 25);
  fs.writeFileSync(kept.replace(/\.cpuprofile$/, '.txt'), text);
  process.stdout.write(`${text}\nprofile: ${path.relative(process.cwd(), kept)} (window: --from-us ${fromUs} --to-us ${toUs})\n`);
}

await runScript('profile', main);
