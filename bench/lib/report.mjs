// The table `npm run bench` prints: every figure with the median and the spread (min–max) of its rounds.
import { REFUSAL_KINDS } from './refusals.mjs';


/** The wrk-paced latency (bench/lib/load.mjs runWrkPaced) beside a paced figure, when wrk ran it. */
function wrkPacedLine(fig, key) {
  const w = fig.wrkPaced;
  if (!w) return [];
  return [['', `  wrk paced (C client, ${fmtInt(w.achievedRate.median)} req/s): p99 ${fmt(w.p99.median, 3)} ms (${fmt(w.p99.min, 3)}–${fmt(w.p99.max, 3)}) ${verdict(key, w.p99.median)}, p50 ${fmt(w.p50.median, 3)} ms; the floor: p99 ${fmt(w.floorP99.median, 3)} ms`]];
}

export const TARGETS = {
  P1: { op: '>=', value: 0.8, unit: '' },
  P2: { op: '>=', value: 0.5, unit: '' },
  P3a: { op: '<=', value: 2, unit: 'ms' },
  P3b: { op: '<=', value: 10, unit: 'ms' },
  P4: { op: '<=', value: 300, unit: 'B' },
  P5: { op: '<=', value: 0.5, unit: 'ms' },
  P5b: { op: '<=', value: 20, unit: '%' },
  P6: { op: '<=', value: 150, unit: 'MB' },
  P6b: { op: '<=', value: 150, unit: 'MB' },
  P7: { op: '>=', value: 0.9, unit: '' },
  P8: { op: '>=', value: 0.9, unit: '' },
  P9: { op: '>=', value: 0.97, unit: '' },
  P10: { op: '>=', value: 0.9, unit: '' },
  P11: { op: '>=', value: 0.95, unit: '' },
  P12: { op: '>=', value: 0.95, unit: '' },
  P13: { op: '<=', value: 100, unit: 'ms' },
};
/** P6 "flat": RSS after 1 M requests at most this much above RSS after the first half. */
export const P6_FLAT_MB = 10;

/** PASS / MISS for a figure. */
export function verdict(key, value, extraOk = true) {
  const t = TARGETS[key];
  if (!Number.isFinite(value)) return 'n/a';
  const ok = t.op === '>=' ? value >= t.value : value <= t.value;
  return ok && extraOk ? 'PASS' : 'MISS';
}

export const fmt = (v, digits = 2) => (Number.isFinite(v) ? v.toFixed(digits) : 'n/a');
export const fmtInt = (v) => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : 'n/a');
/** `median (min–max)` of a summary. */
const ms = (s, digits = 2, f = fmt) => `${f(s.median, digits)} (${f(s.min, digits)}–${f(s.max, digits)})`;
const rps = (s) => `${fmtInt(s.median)} req/s (${fmtInt(s.min)}–${fmtInt(s.max)})`;

/**
 * The two sub-lines of a side-by-side figure (compareSides): req/s and CPU µs per request of each
 * side. With `key`, the ratio the CPU times imply (base µs ÷ test µs: the req/s ratio if each had a
 * core to itself) is judged against the figure's target too.
 */
function sideLines(fig, base, test, key) {
  const implied = 1 / fig.cpuUsRatio.median;
  const judged = key ? `; by CPU, ${base} µs ÷ ${test} µs = ${fmt(implied)} ${verdict(key, implied)}` : '';
  return [
    ['', `  ${test} ${rps(fig[test].rps)}, ${base} ${rps(fig[base].rps)}`],
    ['', `  CPU per verify: ${test} ${ms(fig[test].cpuUs, 1)} µs, ${base} ${ms(fig[base].cpuUs, 1)} µs; ${test} ÷ ${base} ${ms(fig.cpuUsRatio)}${judged}`],
  ];
}

export function render(out) {
  const f = out.figures;
  const m = out.machine;
  const t = (key) => {
    const tg = TARGETS[key];
    return `${tg.op === '>=' ? '≥' : '≤'} ${tg.value}${tg.unit ? ` ${tg.unit}` : ''}`;
  };
  const p6flat = f.P6.growthSecondHalfMB <= P6_FLAT_MB;
  const nginxLines = (fig, label) => [
    ['', `  ${label}: Postern ${rps(fig.postern.rps)}, floor ${rps(fig.floor.rps)}`],
    ['', `  CPU per verify: Postern ${ms(fig.postern.cpuUs, 1)} µs, floor ${ms(fig.floor.cpuUs, 1)} µs; Postern ÷ floor ${ms(fig.cpuUsRatio)} (issue 16 aims at ≤ 1.3)`],
  ];
  const rows = [
    ['P1', 'req/s through nginx, valid session, Postern ÷ floor', fmt(f.P1.median), `${fmt(f.P1.min)}–${fmt(f.P1.max)}`, t('P1'), verdict('P1', f.P1.median)],
    ...nginxLines(f.P1, `nginx worker_processes ${out.settings.nginxWorkers}`),
    ['P1w1', 'the same, nginx worker_processes 1 (as the tests run it)', fmt(f.P1w1.median), `${fmt(f.P1w1.min)}–${fmt(f.P1w1.max)}`, t('P1'), verdict('P1', f.P1w1.median)],
    ...nginxLines(f.P1w1, 'nginx worker_processes 1'),
    ['P2', 'req/s direct to /verify/nginx, Postern ÷ bare node:http', fmt(f.P2.median), `${fmt(f.P2.min)}–${fmt(f.P2.max)}`, t('P2'), verdict('P2', f.P2.median)],
    ...nginxLines(f.P2, 'direct'),
    ['P3a', `p99 ms of verify at half max rate (${fmtInt(f.P3a.rate)} req/s, paced)`, fmt(f.P3a.median, 3), `${fmt(f.P3a.min, 3)}–${fmt(f.P3a.max, 3)}`, t('P3a'), verdict('P3a', f.P3a.median)],
    ['', `  p50 ${fmt(f.P3a.p50.median, 3)} ms; the floor at the same rate: p99 ${fmt(f.P3a.floorP99.median, 3)} ms (${fmt(f.P3a.floorP99.min, 3)}–${fmt(f.P3a.floorP99.max, 3)})`],
    ['', `  autocannon overallRate (bursty, see README): p99 ${fmt(f.P3a.autocannonOverallRate.p99.median, 3)} ms (${fmt(f.P3a.autocannonOverallRate.p99.min, 3)}–${fmt(f.P3a.autocannonOverallRate.p99.max, 3)}) ${verdict('P3a', f.P3a.autocannonOverallRate.p99.median)}`],
    ...wrkPacedLine(f.P3a, 'P3a'),
    ['P3b', `p99 ms of verify, same rate, ${f.P3b.signins.concurrency} sign-ins at once`, fmt(f.P3b.median, 3), `${fmt(f.P3b.min, 3)}–${fmt(f.P3b.max, 3)}`, t('P3b'), verdict('P3b', f.P3b.median)],
    ['', `  p50 ${fmt(f.P3b.p50.median, 3)} ms; the floor at the same rate and sign-in load: p99 ${fmt(f.P3b.floorP99.median, 3)} ms (${fmt(f.P3b.floorP99.min, 3)}–${fmt(f.P3b.floorP99.max, 3)})`],
    ...wrkPacedLine(f.P3b, 'P3b'),
    ['', `  ${fmt(f.P3b.signins.signinsPerSec, 1)} sign-ins/s (p50 ${fmt(f.P3b.signins.latency.p50, 0)} ms each); autocannon overallRate p99 ${fmt(f.P3b.autocannonOverallRate.p99.median, 3)} ms ${verdict('P3b', f.P3b.autocannonOverallRate.p99.median)}`],
    ['P4', `Redis bytes per session (MEMORY USAGE, ${fmtInt(f.P4.sessions)} sessions*)`, fmt(f.P4.median, 1), `${fmtInt(f.P4.min)}–${fmtInt(f.P4.max)}`, t('P4'), verdict('P4', f.P4.median)],
    ['', `  value ${f.P4.valueBytes} B + key ${f.P4.keyBytes} B; used_memory grew ${fmt(f.P4.usedMemoryPerSession, 1)} B per session (incl. expiry bookkeeping)`],
    ['P5', 'ms for a throttled sign-in attempt (p50; one connection)', fmt(f.P5.median, 3), `${fmt(f.P5.min, 3)}–${fmt(f.P5.max, 3)}`, t('P5'), verdict('P5', f.P5.median)],
    ['', `  p99 ${fmt(f.P5.p99.median, 3)} ms (${fmt(f.P5.p99.min, 3)}–${fmt(f.P5.p99.max, 3)}), ${fmtInt(f.P5.attemptsPerSec.median)} attempts/s`],
    ['P5b', 'refusal time spread, unknown name vs each hash scheme (% of unknown)', fmt(f.P5b.median, 1), `${fmt(f.P5b.min, 1)}–${fmt(f.P5b.max, 1)}`, t('P5b'), verdict('P5b', f.P5b.median)],
    ['', `  median ms to refuse: ${REFUSAL_KINDS.map((k) => `${k} ${fmt(f.P5b.ms[k].median, 1)}`).join(', ')} (PBKDF2 600 000 iterations, bcrypt cost 12)`],
    ['P6', `RSS MB of Postern after ${fmtInt(f.P6.requests)} verify requests`, fmt(f.P6.endMB, 1), `${fmt(f.P6.min, 1)}–${fmt(f.P6.max, 1)}`, `${t('P6')}, flat`, verdict('P6', f.P6.endMB, p6flat)],
    ['', `  fresh process: start ${fmt(f.P6.startMB, 1)} MB, half-way ${fmt(f.P6.halfMB, 1)} MB, end ${fmt(f.P6.endMB, 1)} MB: second half ${f.P6.growthSecondHalfMB >= 0 ? '+' : ''}${fmt(f.P6.growthSecondHalfMB, 1)} MB (flat = ≤ ${P6_FLAT_MB} MB) at ${fmtInt(f.P6.rps)} req/s`],
    ['P6b', 'RSS MB of the long-lived Postern after P1–P5 (sign-ins too)', fmt(f.P6b.median, 1), '–', t('P6b'), verdict('P6b', f.P6b.median)],
    ['P7', 'req/s direct to verify, app password ÷ session cookie', fmt(f.P7.median), `${fmt(f.P7.min)}–${fmt(f.P7.max)}`, t('P7'), verdict('P7', f.P7.median)],
    ['', `  app password ${fmtInt(f.P7.tokenRps.median)} req/s, session ${fmtInt(f.P7.sessionRps.median)} req/s (same rounds)`],
    ['P8', 'req/s direct to verify, Basic account password (remembered) ÷ session', fmt(f.P8.median), `${fmt(f.P8.min)}–${fmt(f.P8.max)}`, t('P8'), verdict('P8', f.P8.median)],
    ['', `  Basic ${fmtInt(f.P8.basicRps.median)} req/s after the first request's one argon2id hash`],
    ['P9', 'P2 req/s with metrics on ÷ metrics off (same run, two fresh Posterns)', fmt(f.P9.median), `${fmt(f.P9.min)}–${fmt(f.P9.max)}`, t('P9'), verdict('P9', f.P9.median)],
    ...sideLines(f.P9, 'off', 'on'),
    ['', `  ${fmtInt(f.P9.verifiesCounted)} verifies counted by the scrape`],
    ['P10', `P2 req/s with ${fmtInt(f.P10.rules)} access rules ÷ with the example's ${f.P10.exampleRules}`, fmt(f.P10.median), `${fmt(f.P10.min)}–${fmt(f.P10.max)}`, t('P10'), verdict('P10', f.P10.median)],
    ...sideLines(f.P10, `${f.P10.exampleRules} rules`, `${f.P10.rules} rules`, 'P10'),
    ['P11', `P2 req/s with ${fmtInt(f.P11.large)} sessions in Redis ÷ with ${fmtInt(f.P11.small)}`, fmt(f.P11.median), `${fmt(f.P11.min)}–${fmt(f.P11.max)}`, t('P11'), verdict('P11', f.P11.median)],
    ...sideLines(f.P11, `${f.P11.small} sessions`, `${f.P11.large} sessions`, 'P11'),
    ['', `  Redis used_memory with ${fmtInt(f.P11.large)} sessions (${fmtInt(f.P11.keys)} keys, the per-user indexes included): ${f.P11.usedMemory.human} (${fmt(f.P11.usedMemory.bytes / f.P11.large, 0)} B per session); with ${fmtInt(f.P11.small)}: ${f.P11.usedMemorySmall.human}`],
    ['P12', `verify req/s with an app password, ${fmtInt(f.P12.large)} in the users file ÷ ${f.P12.small}`, fmt(f.P12.median), `${fmt(f.P12.min)}–${fmt(f.P12.max)}`, t('P12'), verdict('P12', f.P12.median)],
    ...sideLines(f.P12, `${f.P12.small} app passwords`, `${f.P12.large} app passwords`, 'P12'),
    ['P13', `ms to list a user's ${f.P13.sessionsPerUser} sessions among ${fmtInt(f.P11.large)} (listByUser)`, fmt(f.P13.median), `${fmt(f.P13.min)}–${fmt(f.P13.max)}`, t('P13'), verdict('P13', f.P13.median)],
    ['', `  \`postern sessions list --user\` as a process: ${ms(f.P13.cliMs, 0)} ms ${verdict('P13', f.P13.cliMs.median)}; \`postern --version\` (Node start-up and the CLI's imports alone): ${ms(f.P13.versionMs, 0)} ms`],
  ];
  const header = ['figure', 'what', 'median', 'spread (min–max)', 'target', 'result'];
  const full = rows.filter((r) => r.length === 6);
  const widths = header.map((h, i) => Math.max(h.length, ...full.map((r) => String(r[i]).length)));
  const line = (r) => r.map((c, i) => String(c).padEnd(widths[i])).join('  ').trimEnd();
  const lines = [];
  lines.push('');
  lines.push(`Postern benchmark, ${out.started}${out.settings.quick ? ' (BENCH_QUICK=1)' : ''}`);
  lines.push(`code: ${m.code.describe}`);
  lines.push(`machine: ${m.cores} cores (${m.cpu}), ${m.memoryGB} GB, ${m.os}; node ${m.node}, nginx ${m.nginx}, redis ${m.redis}, autocannon ${m.autocannon}`);
  lines.push(`load generator for P1, P2, P7–P12: ${out.settings.loadGenerator} (1 thread, ${out.settings.connections} connections); autocannon and the paced client for P3, P5, P6`);
  lines.push('CPU per verify (utime + stime of the verify server over a round ÷ its requests) is the steadier figure on a shared machine: req/s also moves with what else the cores run');
  lines.push(`every process (load generator, nginx, Postern or the floor, redis) shares these ${m.cores} cores; figures are ratios or latencies from the same run`);
  lines.push('Postern runs as the Docker image runs it: NODE_ENV=production, MALLOC_MMAP_THRESHOLD_=1048576, log.level warn');
  lines.push(`load average at start ${out.loadAverageAtStart.join(' ')}; CPU used by other processes during the rounds: median ${out.otherCpu.median}% (max ${out.otherCpu.max}%) of one core`);
  lines.push(`${out.settings.rounds} rounds × ${out.settings.seconds} s, ${out.settings.connections} connections, ${out.settings.sessions} real sessions reused round-robin${out.settings.quick ? `; quick: P11 with ${out.settings.p11Sessions.toLocaleString('en-US')} sessions instead of 1 000 000` : ''}`);
  lines.push('');
  lines.push(line(header));
  lines.push(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) lines.push(r.length === 6 ? line(r) : `${''.padEnd(widths[0])}  ${r[1]}`);
  lines.push('');
  lines.push(`* P4: ${fmtInt(f.P4.realSessions)} real sessions (sign-ins) + ${fmtInt(f.P4.copies)} copies of one real session value under new random ids, written with pipelined SET … PX.`);
  lines.push('  P4 "median" is the mean MEMORY USAGE over the sample; P6 spread is the min–max of RSS sampled each second.');
  lines.push('');
  lines.push('CPU, % of one core, median of rounds ("other": processes the bench did not start, and kernel work charged to none)');
  const cpuRows = [
    ['P1 floor', f.P1.floor.cpuPercent],
    ['P1 postern', f.P1.postern.cpuPercent],
    ['P1 floor, nginx 1 worker', f.P1w1.floor.cpuPercent],
    ['P1 postern, nginx 1 worker', f.P1w1.postern.cpuPercent],
    ['P2 floor', f.P2.floor.cpuPercent],
    ['P2 postern', f.P2.postern.cpuPercent],
    ['P3a paced (Postern)', f.P3a.cpuPercent],
    ['P3b paced (Postern)', f.P3b.cpuPercent],
  ];
  const cols = Object.keys(f.P1.postern.cpuPercent);
  const colW = cols.map((c) => Math.max(4, c.length));
  lines.push(`  ${''.padEnd(28)}${cols.map((c, i) => c.padStart(colW[i] + 2)).join('')}`);
  for (const [label, cpu] of cpuRows) lines.push(`  ${label.padEnd(28)}${cols.map((c, i) => String(cpu[c] ?? '').padStart(colW[i] + 2)).join('')}`);
  if (out.warnings.length > 0) {
    lines.push('');
    lines.push('warnings:');
    for (const w of out.warnings) lines.push(`  - ${w}`);
  }
  lines.push('');
  return `${lines.join('\n')}\n`;
}
