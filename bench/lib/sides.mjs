// Two sides under the same maximum-rate load in alternating rounds (which side goes first alternates
// too): the floor and Postern (P1, P2), or two Posterns that differ in one thing (P9–P12). Per side,
// req/s and the CPU time its verify server spent per request (utime + stime from /proc/<pid>/stat over
// the round ÷ requests answered): on a shared machine the steadier of the two figures.
import { cpuPercent, cpuSeconds, cpuSnapshot } from './cpu.mjs';
import { runLoad } from './load.mjs';
import { startPostern } from './postern.mjs';
import { median } from './stats.mjs';

export const summarise = (values) => ({ median: median(values), min: Math.min(...values), max: Math.max(...values), rounds: values });

/**
 * `sides`: { [name]: { url, requests, pid } } with exactly two names, `base` first: the figure is
 * test ÷ base. `pid`: the process whose CPU per request is reported (Postern or the floor, also behind
 * nginx). `groups`: CPU accounting groups for the per-round CPU table. `check(label, result)` returns
 * a run's problems, `warn(label, problems)` records them.
 */
export async function compareSides({ label, sides, rounds, seconds, connections, groups, warmSeconds = 2, log, check, warn }) {
  const [base, test] = Object.keys(sides);
  for (const name of [base, test]) await runLoad({ ...sides[name], connections, duration: warmSeconds });
  const runs = { [base]: [], [test]: [], ratio: [], cpuRatio: [] };
  for (let round = 1; round <= rounds; round++) {
    const order = round % 2 === 1 ? [base, test] : [test, base];
    const r = {};
    for (const name of order) {
      const { pid } = sides[name];
      const snap = cpuSnapshot(groups);
      const cpuBefore = cpuSeconds(pid);
      const result = await runLoad({ ...sides[name], connections, duration: seconds });
      const cpuAfter = cpuSeconds(pid);
      r[name] = { ...result, cpu: cpuPercent(snap, cpuSnapshot(groups)), cpuUsPerRequest: ((cpuAfter - cpuBefore) / result.total) * 1e6 };
      warn(`${label} ${name} round ${round}`, check(`${label} ${name} round ${round}`, r[name]));
      runs[name].push(r[name]);
    }
    runs.ratio.push(r[test].rps / r[base].rps);
    runs.cpuRatio.push(r[test].cpuUsPerRequest / r[base].cpuUsPerRequest);
    const us = (x) => `${x.cpuUsPerRequest.toFixed(1)} µs CPU/req`;
    log(`round ${round}/${rounds} ${label}: ${base} ${Math.round(r[base].rps)} req/s (${us(r[base])}), ${test} ${Math.round(r[test].rps)} req/s (${us(r[test])}), ratio ${(r[test].rps / r[base].rps).toFixed(2)}; other processes ${r[test].cpu.other}% / ${r[base].cpu.other}% CPU`);
  }
  const side = (name) => ({ rps: summarise(runs[name].map((x) => x.rps)), cpuUs: summarise(runs[name].map((x) => x.cpuUsPerRequest)), cpuPercent: medianCpu(runs[name]) });
  return {
    figure: { ...summarise(runs.ratio), cpuUsRatio: summarise(runs.cpuRatio), [base]: side(base), [test]: side(test) },
    runs,
  };
}

/** Per CPU group, the median over rounds of its % of one core. */
export function medianCpu(results) {
  const names = Object.keys(results[0]?.cpu ?? {});
  return Object.fromEntries(names.map((n) => [n, median(results.map((r) => r.cpu[n]))]));
}

/**
 * Two fresh Posterns, `sides`: { [name]: { prepared, options } } (startPostern's arguments; base
 * first), under the same `requests` in alternating rounds (compareSides); both stopped afterwards.
 * `ready(posterns)`: a check of both before the rounds (it throws when the figure would mean nothing).
 */
export async function comparePosterns({ label, sides, requests, groups, ready = async () => undefined, ...run }) {
  const started = {};
  try {
    for (const [name, { prepared, options }] of Object.entries(sides)) started[name] = await startPostern(prepared, options);
    await ready(Object.values(started));
    const targets = Object.fromEntries(Object.entries(started).map(([name, p]) => [name, { url: `http://127.0.0.1:${p.port}`, requests, pid: p.pid }]));
    const cpuGroups = { ...groups, ...Object.fromEntries(Object.entries(started).map(([name, p]) => [`postern (${name})`, [p.pid]])) };
    return await compareSides({ ...run, label, sides: targets, groups: cpuGroups });
  } finally {
    for (const p of Object.values(started)) await p.stop();
  }
}
