// Per-process CPU time and memory from /proc (Linux), to show who used the shared cores in a round.
import fs from 'node:fs';
import { execFileSync } from 'node:child_process';

let clockTicks = 100;
try {
  clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
} catch {
  // keep 100 Hz, the Linux default
}

/** The fields of /proc/<pid>/stat after the command name (which may contain spaces): [0] = state. */
function statFields(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** [user, system] CPU seconds (utime, stime) used so far by `pid`; NaN when it is gone. */
export function userSystemSeconds(pid) {
  try {
    const fields = statFields(pid);
    return [Number(fields[11]) / clockTicks, Number(fields[12]) / clockTicks];
  } catch {
    return [Number.NaN, Number.NaN];
  }
}

/** CPU seconds (user + system) used so far by `pid`; NaN when it is gone. */
export function cpuSeconds(pid) {
  const [user, system] = userSystemSeconds(pid);
  return user + system;
}

/**
 * CPU seconds of this process's children that have exited and been waited for (cutime + cstime):
 * how the load generator wrk, a child that ends with its round, is charged.
 */
function reapedChildrenSeconds() {
  const fields = statFields('self');
  return (Number(fields[13]) + Number(fields[14])) / clockTicks;
}

/** The direct children of `pid` (nginx workers under the master). */
export function childPids(pid) {
  const out = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === pid) out.push(Number(name));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/** VmRSS of `pid` in bytes. */
export function rssBytes(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}

/** CPU seconds the whole machine spent busy (all cores; not idle, not iowait), from /proc/stat. */
export function machineBusySeconds() {
  const line = fs.readFileSync('/proc/stat', 'utf8').split('\n', 1)[0];
  const [, ...v] = line.trim().split(/\s+/).map(Number);
  // user nice system idle iowait irq softirq steal guest guest_nice (guest is already in user)
  const busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
  return busy / clockTicks;
}

/**
 * Snapshot of CPU seconds for a set of named process groups: { name: [pid, …] }. The bench process
 * itself (the load generator) is measured with process.cpuUsage().
 */
export function cpuSnapshot(groups) {
  const snap = { at: performance.now(), self: process.cpuUsage(), children: reapedChildrenSeconds(), machine: machineBusySeconds() };
  for (const [name, pids] of Object.entries(groups)) snap[name] = pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
  return snap;
}

/**
 * CPU seconds group `name` used between two snapshots. `self` is the load generator: the bench
 * process (autocannon runs inside it) and its children that ended meanwhile (wrk).
 */
export function cpuUsed(before, after, name) {
  if (name !== 'self') return after[name] - before[name];
  return (after.self.user - before.self.user + after.self.system - before.self.system) / 1e6 + (after.children - before.children);
}

/** Per group, % of one core used between two snapshots (200 % = both cores of a 2-core machine). */
export function cpuPercent(before, after) {
  const wall = (after.at - before.at) / 1000;
  const out = {};
  let ours = 0;
  for (const name of Object.keys(after)) {
    if (name === 'at' || name === 'machine' || name === 'children') continue;
    const used = cpuUsed(before, after, name);
    out[name === 'self' ? 'load generator' : name] = Math.round((used / wall) * 100);
    ours += used;
  }
  const machine = after.machine - before.machine;
  // Everything else the machine did meanwhile: other people's processes, and kernel work (softirq)
  // not charged to any process, ours included.
  out.other = Math.max(0, Math.round(((machine - ours) / wall) * 100));
  out.machine = Math.round((machine / wall) * 100);
  return out;
}
