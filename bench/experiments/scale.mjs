// P10–P13 alone (cost that does not grow with rules, sessions, app passwords), without nginx or the
// floor: Redis + the built Postern, 50 sessions, then the four figures as run.mjs takes them.
//   npm run build && node bench/experiments/scale.mjs     (BENCH_ROUNDS, BENCH_SECONDS, BENCH_P11_SESSIONS)
//   BENCH_ONLY=P10 BENCH_CLI=path/to/other/dist/cli/main.js …   P10 with another build (before/after a change)
import { useWrk } from '../lib/load.mjs';
import { installHooks, runScript } from '../lib/proc.mjs';
import { measureRuleCount } from '../lib/scale-rules.mjs';
import { measureListByUser, measureSessionCount } from '../lib/scale-sessions.mjs';
import { measureTokenCount } from '../lib/scale-tokens.mjs';
import { BENCH_USER, createSessions, processGroups, startStack, verifyHeaders } from '../lib/stack.mjs';
import { ensureWrk } from '../lib/wrk.mjs';

const log = (msg) => process.stderr.write(`[scale ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
const num = (name, fallback) => Number(process.env[name] ?? fallback);
const only = (process.env.BENCH_ONLY ?? 'P10,P11,P12').split(',');

installHooks();
await runScript('scale', async () => {
  const wrk = ensureWrk(log);
  if (wrk) useWrk(wrk);
  const stack = await startStack({ log, withNginx: false, withFloor: false });
  const sessions = await createSessions(stack, 20);
  const requests = sessions.map((s) => ({ method: 'GET', path: '/verify/nginx', headers: verifyHeaders(s) }));
  const check = () => [];
  const common = { stack, groups: processGroups(stack), rounds: num('BENCH_ROUNDS', 3), seconds: num('BENCH_SECONDS', 2), connections: 50, log, check, warn: () => undefined };
  const show = (name, fig) => process.stdout.write(`${name}: ratio ${fig.median.toFixed(2)} (${fig.min.toFixed(2)}–${fig.max.toFixed(2)}), CPU per request ratio ${fig.cpuUsRatio.median.toFixed(2)}\n`);
  if (only.includes('P10')) show('P10', (await measureRuleCount({ ...common, count: num('BENCH_P10_RULES', 1000), requests, cli: process.env.BENCH_CLI })).figure);
  if (only.includes('P11')) {
    const large = num('BENCH_P11_SESSIONS', 100_000);
    const p11 = await measureSessionCount({ ...common, sessions, user: BENCH_USER.name, small: 1000, large });
    show('P11', p11.figure);
    process.stdout.write(`P11 used_memory ${p11.figure.usedMemory.human}\n`);
    const p13 = await measureListByUser({ stack, redis: p11.large, usersInRedis: p11.scaleUsers, samples: 20, processRuns: 3, log });
    process.stdout.write(`P13: listByUser ${p13.median.toFixed(2)} ms, CLI ${p13.cliMs.median.toFixed(0)} ms, --version ${p13.versionMs.median.toFixed(0)} ms\n`);
    await p11.large.stop();
  }
  if (only.includes('P12')) {
    const { cookie: _cookie, ...anonymous } = verifyHeaders(sessions[0]);
    const tokenRequests = [{ method: 'GET', path: '/verify/nginx', headers: { ...anonymous, authorization: `Bearer ${stack.prepared.appPassword}` } }];
    show('P12', (await measureTokenCount({ ...common, small: 10, large: num('BENCH_P12_TOKENS', 10_000), requests: tokenRequests })).figure);
  }
});
