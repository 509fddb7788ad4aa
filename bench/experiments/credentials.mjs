// P7 and P8 alone, without nginx or the floor: Redis + the built Postern, 50 sessions, then
// verify with a session cookie vs an app password vs Basic + the account password.
//   npm run build && node bench/experiments/credentials.mjs      (BENCH_ROUNDS, BENCH_SECONDS as for run.mjs)
import { measureCredentialRatios } from '../lib/credentials.mjs';
import { installHooks, stopAll } from '../lib/proc.mjs';
import { createSessions, startStack } from '../lib/stack.mjs';
import { median } from '../lib/stats.mjs';

const log = (msg) => process.stderr.write(`[credentials ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const seconds = Number(process.env.BENCH_SECONDS ?? 2);

installHooks();
try {
  const stack = await startStack({ log, withNginx: false, withFloor: false });
  const sessions = await createSessions(stack, 20);
  const runs = await measureCredentialRatios({ port: stack.postern.port, sessions, appPassword: stack.prepared.appPassword, rounds, seconds, connections: 50, log });
  process.stdout.write(`P7 (app password ÷ session): median ${median(runs.P7).toFixed(2)} (${runs.P7.map((r) => r.toFixed(2)).join(', ')}), target ≥ 0.90\n`);
  process.stdout.write(`P8 (Basic account password ÷ session): median ${median(runs.P8).toFixed(2)} (${runs.P8.map((r) => r.toFixed(2)).join(', ')}), target ≥ 0.90\n`);
} finally {
  await stopAll();
}
