// P9: what the Prometheus metrics cost verify. Two fresh Posterns with the stack's config, data dir,
// users and Redis (so the same sessions are valid on both), one with POSTERN_METRICS_PORT set, both
// new so that neither has more JIT warm-up than the other; P2's load (GET /verify/nginx, sent
// directly) alternates between them, round by round, and the figure is the median of the per-round
// ratios req/s with metrics ÷ req/s without.
import http from 'node:http';
import { freePort } from '../../test/support/free-port.js';
import { startPostern } from './postern.mjs';
import { compareSides } from './sides.mjs';

function scrape(port) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/metrics', agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`GET /metrics answered ${res.statusCode}`))));
    });
    req.on('error', reject);
  });
}

/** The sum of every `name{...} value` sample in a scrape. */
function total(text, name) {
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  return sum;
}

/**
 * `stack`: the running stack (its Postern has metrics off); `groups`: CPU accounting groups;
 * `requests`: P2's requests; `check(label, result)` returns the problems of a load run; `warn(label, problems)` records them.
 */
export async function measureMetricsCost({ stack, groups, requests, ...run }) {
  const { log, warn } = run;
  const metricsPort = await freePort();
  log(`P9: starting two more Posterns, metrics off and on (POSTERN_METRICS_PORT ${metricsPort}), same config, users and Redis`);
  const off = await startPostern(stack.prepared, { label: 'postern-p9-off' });
  let on;
  try {
    on = await startPostern(stack.prepared, { label: 'postern-p9-on', env: { POSTERN_METRICS_PORT: String(metricsPort), POSTERN_METRICS_ADDRESS: '127.0.0.1' } });
    const cpuGroups = { ...groups, 'postern (metrics off)': [off.pid], 'postern (metrics on)': [on.pid] };
    const before = total(await scrape(metricsPort), 'postern_verify_decisions_total');
    const { figure, runs } = await compareSides({
      ...run,
      label: 'P9 metrics',
      sides: {
        off: { url: `http://127.0.0.1:${off.port}`, requests, pid: off.pid },
        on: { url: `http://127.0.0.1:${on.port}`, requests, pid: on.pid },
      },
      groups: cpuGroups,
      warmSeconds: 3,
    });
    // The metrics really were on: every verify of the rounds is counted.
    const counted = total(await scrape(metricsPort), 'postern_verify_decisions_total') - before;
    const sent = runs.on.reduce((sum, r) => sum + r.total, 0);
    if (counted < sent) warn('P9', [`the scrape counted ${counted} verifies, the rounds sent at least ${sent}`]);
    return { figure: { ...figure, onRps: figure.on.rps, offRps: figure.off.rps, verifiesCounted: counted }, details: runs };
  } finally {
    await on?.stop();
    await off.stop();
  }
}
