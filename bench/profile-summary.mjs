// Summarises a V8 .cpuprofile (node --cpu-prof): the top self-time entries by function + file,
// the same grouped by package / area, and the inclusive time of Postern's own and its packages' frames.
//
//   node bench/profile-summary.mjs FILE.cpuprofile [--top 25] [--from-us T0 --to-us T1]
//
// --from-us / --to-us keep only the samples taken in that window (CLOCK_MONOTONIC microseconds, the
// clock V8 stamps profiles with; bench/profile.mjs passes the window of its load run, so start-up
// and sign-in do not count).
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

const REPO = path.resolve(import.meta.dirname, '..');

/** A readable location: dist/…, <package>/…, node:… */
export function shortUrl(url) {
  if (!url) return '';
  let u = url.replace(/^file:\/\//, '');
  const nm = u.lastIndexOf('/node_modules/');
  if (nm !== -1) return u.slice(nm + '/node_modules/'.length);
  if (u.startsWith(`${REPO}/`)) u = u.slice(REPO.length + 1);
  return u;
}

/** The area a frame belongs to: a package name, a dist/ folder, node's internals, or V8's pseudo-frames. */
export function areaOf(callFrame) {
  const { url, functionName } = callFrame;
  if (!url) return functionName.startsWith('(') ? functionName : '(native / builtin)';
  const u = url.replace(/^file:\/\//, '');
  const nm = u.lastIndexOf('/node_modules/');
  if (nm !== -1) {
    const rest = u.slice(nm + '/node_modules/'.length).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  if (u.startsWith('node:')) {
    const parts = u.slice(5).split('/');
    return `node:${parts.slice(0, parts[0] === 'internal' ? 2 : 1).join('/')}`;
  }
  const rel = shortUrl(url);
  if (rel.startsWith('dist/')) return `postern ${rel.split('/').slice(0, -1).join('/') || 'dist'}`;
  return rel;
}

export function keyOf(callFrame) {
  const name = callFrame.functionName || '(anonymous)';
  const loc = shortUrl(callFrame.url);
  return loc ? `${name}  ${loc}:${callFrame.lineNumber + 1}` : name;
}

/**
 * { totalMs, self: Map(key → ms), total: Map(key → ms), areas: Map(area → ms), samples }.
 * Sample i lasts timeDeltas[i + 1] (the DevTools convention).
 */
export function summarise(profile, { fromUs = -Infinity, toUs = Infinity } = {}) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map();
  const callers = new Map();
  const total = new Map();
  const areas = new Map();
  let t = profile.startTime;
  let totalUs = 0;
  let samples = 0;
  const deltas = profile.timeDeltas;
  for (let i = 0; i < profile.samples.length; i++) {
    t += deltas[i];
    if (t < fromUs || t > toUs) continue;
    const dt = i + 1 < deltas.length ? deltas[i + 1] : 0;
    if (dt <= 0) continue;
    const node = byId.get(profile.samples[i]);
    const key = keyOf(node.callFrame);
    self.set(key, (self.get(key) ?? 0) + dt);
    const area = areaOf(node.callFrame);
    areas.set(area, (areas.get(area) ?? 0) + dt);
    // The nearest frame outside node's own code (a package or dist/) that led to a native or
    // builtin one: who pays for it.
    let up = parent.get(node.id);
    while (up !== undefined && (!byId.get(up).callFrame.url || byId.get(up).callFrame.url.startsWith('node:'))) up = parent.get(up);
    if (up !== undefined) {
      const c = callers.get(key) ?? new Map();
      const ck = keyOf(byId.get(up).callFrame);
      c.set(ck, (c.get(ck) ?? 0) + dt);
      callers.set(key, c);
    }
    const seen = new Set();
    for (let id = node.id; id !== undefined; id = parent.get(id)) {
      const k = keyOf(byId.get(id).callFrame);
      if (seen.has(k)) continue;
      seen.add(k);
      total.set(k, (total.get(k) ?? 0) + dt);
    }
    totalUs += dt;
    samples++;
  }
  const ms = (m) => new Map([...m].map(([k, v]) => [k, v / 1000]));
  return { totalMs: totalUs / 1000, samples, self: ms(self), total: ms(total), areas: ms(areas), callers: new Map([...callers].map(([k, m]) => [k, ms(m)])) };
}

export function render(s, top = 25) {
  const pct = (v) => `${((100 * v) / s.totalMs).toFixed(1).padStart(5)} %`;
  const lines = [];
  lines.push(`${s.samples.toLocaleString('en-US')} samples, ${(s.totalMs / 1000).toFixed(2)} s of profile`);
  lines.push('');
  lines.push(`Top ${top} by self time (function  file:line)`);
  lines.push(`${'self ms'.padStart(9)}  ${'self'.padStart(7)}  ${'total'.padStart(7)}  function`);
  for (const [key, v] of [...s.self].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    lines.push(`${v.toFixed(0).padStart(9)}  ${pct(v)}  ${pct(s.total.get(key) ?? v)}  ${key}`);
  }
  lines.push('');
  lines.push('Who calls the top native / builtin entries (nearest frame outside node:internal)');
  for (const [key, v] of [...s.self].filter(([k]) => !k.includes('  ') && !k.startsWith('(')).sort((a, b) => b[1] - a[1]).slice(0, 5)) {
    lines.push(`  ${key} (${pct(v).trim()}):`);
    for (const [caller, cv] of [...(s.callers.get(key) ?? new Map())].sort((a, b) => b[1] - a[1]).slice(0, 4)) {
      lines.push(`    ${pct(cv)}  ${caller}`);
    }
  }
  lines.push('');
  lines.push('Self time grouped by package / area');
  for (const [area, v] of [...s.areas].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    lines.push(`${v.toFixed(0).padStart(9)}  ${pct(v)}  ${area}`);
  }
  lines.push('');
  lines.push(`Top ${top} by inclusive time, Postern's own code (dist/) and its packages (node_modules/)`);
  const own = [...s.total].filter(([k]) => / (dist|[^ ]*?)\//.test(k) && !/  node:/.test(k) && /  (dist\/|[a-z@][^ ]*\/)/.test(k));
  for (const [key, v] of own.sort((a, b) => b[1] - a[1]).slice(0, top)) {
    lines.push(`${v.toFixed(0).padStart(9)}  ${pct(v)}  ${key}`);
  }
  return `${lines.join('\n')}\n`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { top: { type: 'string', default: '25' }, 'from-us': { type: 'string' }, 'to-us': { type: 'string' } },
  });
  if (positionals.length !== 1) {
    process.stderr.write('usage: node bench/profile-summary.mjs FILE.cpuprofile [--top 25] [--from-us T0 --to-us T1]\n');
    process.exit(2);
  }
  const profile = JSON.parse(fs.readFileSync(positionals[0], 'utf8'));
  const s = summarise(profile, {
    fromUs: values['from-us'] ? Number(values['from-us']) : -Infinity,
    toUs: values['to-us'] ? Number(values['to-us']) : Infinity,
  });
  process.stdout.write(render(s, Number(values.top)));
}
