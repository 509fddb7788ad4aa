// wrk for the experiments (wrk-compare.mjs): one run of bench/lib/wrk.mjs against 127.0.0.1:`port`,
// with the CPU time the measured server processes used over the run, per answered request.
import { findOnPath } from '../../test/support/child.js';
import { userSystemSeconds } from '../lib/cpu.mjs';
import { runWrk as runWrkLoad } from '../lib/wrk.mjs';

/** [user, system] CPU seconds of the processes together. */
function cpuTimes(pids) {
  return pids.map(userSystemSeconds).reduce(([u, s], [pu, ps]) => [u + pu, s + ps], [0, 0]);
}

/**
 * Runs wrk against 127.0.0.1:`port` for `seconds`; `pids`: the processes whose CPU is counted
 * (user + system, from /proc/<pid>/stat). Returns { rps (answers below 400 per second), total, non2xx,
 * errors (socket errors), timeouts, cpuUs (CPU µs of `pids` per request; userUs and systemUs its two
 * parts), cpuPercent (of one core) }.
 */
export async function runWrk({ port, requests, seconds, connections = 50, threads = 1, pids = [], delayMs }) {
  const bin = findOnPath('wrk');
  if (!bin) throw new Error('wrk is not installed (Debian: apt-get install wrk, or node scripts/ensure-test-binaries.mjs wrk)');
  const [user0, system0] = cpuTimes(pids);
  const t0 = performance.now();
  const r = await runWrkLoad({ bin, url: `http://127.0.0.1:${port}`, requests, connections, duration: seconds, threads, delayMs });
  const wall = (performance.now() - t0) / 1000;
  const [user1, system1] = cpuTimes(pids);
  const cpu = user1 - user0 + system1 - system0;
  const perRequest = (s) => (s * 1e6) / r.total;
  return { rps: r.rps, latencyUs: r.latencyUs, total: r.total, non2xx: r.non2xx, errors: r.errors, timeouts: r.timeouts, cpuUs: perRequest(cpu), userUs: perRequest(user1 - user0), systemUs: perRequest(system1 - system0), cpuPercent: (cpu / wall) * 100 };
}
