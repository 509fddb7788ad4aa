// wrk (the Debian package's /usr/bin/wrk) as a load generator for the experiments: one run, the given
// requests sent round-robin from a Lua script (each connection takes the next one), 2xx req/s and the
// CPU time the measured server processes used over the run, per answered request.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { makeTempDir, which } from '../lib/proc.mjs';

let scriptDir;
const TICKS = 100; // CLK_TCK on Linux

/** [user, system] CPU seconds of the processes, from /proc/<pid>/stat (fields 14 and 15). */
function cpuTimes(pids) {
  let user = 0;
  let system = 0;
  for (const pid of pids) {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    user += Number(fields[11]) / TICKS;
    system += Number(fields[12]) / TICKS;
  }
  return [user, system];
}

/** A Lua script that sends `requests` ({ method, path, headers }) round-robin; wrk adds nothing to them. */
function luaScript(requests) {
  const raw = requests.map(({ method = 'GET', path: p, headers }) => {
    const lines = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
    return `${method} ${p} HTTP/1.1\r\n${lines}\r\n`;
  });
  // JSON string literals of printable ASCII are valid Lua string literals.
  return `local reqs = { ${raw.map((r) => JSON.stringify(r)).join(',\n')} }
local n = #reqs
local i = 0
request = function()
  i = i % n + 1
  return reqs[i]
end
`;
}

function parse(out) {
  const m = /(\d+) requests in ([\d.]+)(m?s)/.exec(out);
  const total = m ? Number(m[1]) : Number.NaN;
  const duration = m ? Number(m[2]) / (m[3] === 'ms' ? 1000 : 1) : Number.NaN;
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  const errors = /Socket errors: (.*)/.exec(out)?.[1];
  return { total, duration, non2xx, errors };
}

/**
 * Runs wrk against 127.0.0.1:`port` for `seconds`; `pids`: the processes whose CPU is counted
 * (user + system, from /proc/<pid>/stat). Returns { rps (2xx/s), total, non2xx, errors, cpuUs
 * (CPU µs of `pids` per request; userUs and systemUs its two parts), cpuPercent (of one core) }.
 */
export async function runWrk({ port, requests, seconds, connections = 50, threads = 1, pids = [] }) {
  const bin = which('wrk');
  if (!bin) throw new Error('wrk is not installed (Debian: apt-get install wrk)');
  scriptDir ??= makeTempDir('postern-bench-wrk-');
  const script = path.join(scriptDir, `s${Math.random().toString(36).slice(2)}.lua`);
  fs.writeFileSync(script, luaScript(requests));
  const [user0, system0] = cpuTimes(pids);
  const t0 = performance.now();
  const out = await new Promise((resolve, reject) => {
    const child = spawn(bin, ['-t', String(threads), '-c', String(connections), '-d', `${seconds}s`, '--latency', '-s', script, `http://127.0.0.1:${port}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.on('data', (d) => (text += d));
    child.stderr.on('data', (d) => (text += d));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`wrk exited ${code}: ${text}`))));
  });
  const wall = (performance.now() - t0) / 1000;
  const [user1, system1] = cpuTimes(pids);
  const cpu = user1 - user0 + system1 - system0;
  fs.rmSync(script, { force: true });
  const r = parse(out);
  if (!Number.isFinite(r.total)) throw new Error(`could not read wrk's output:\n${out}`);
  const ok = r.total - r.non2xx;
  const perRequest = (seconds) => (seconds * 1e6) / r.total;
  return { rps: ok / r.duration, total: r.total, non2xx: r.non2xx, errors: r.errors, cpuUs: perRequest(cpu), userUs: perRequest(user1 - user0), systemUs: perRequest(system1 - system0), cpuPercent: (cpu / wall) * 100 };
}
