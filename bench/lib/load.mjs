// Load generators: autocannon (as a library) for throughput, and a small open-loop paced client for
// latency at a fixed rate.
import net from 'node:net';
import autocannon from 'autocannon';
import { Samples } from './stats.mjs';
import { runWrk } from './wrk.mjs';

let wrkBin;

/** From now on, runLoad() drives the load with wrk at `bin` (undefined: autocannon). */
export function useWrk(bin) {
  wrkBin = bin;
}

export function loadGeneratorName() {
  return wrkBin ? 'wrk' : 'autocannon';
}

/**
 * Maximum-rate load for `duration` seconds with wrk when there is one (see useWrk), else autocannon.
 * Same arguments and result shape as runAutocannon's throughput use.
 */
export function runLoad({ url, requests, connections = 50, duration }) {
  if (wrkBin) return runWrk({ bin: wrkBin, url, requests, connections, duration });
  return runAutocannon({ url, requests, connections, duration });
}

/** The think time of the wrk-paced latency figure (wrk's delay() takes whole milliseconds). */
const WRK_PACED_DELAY_MS = 2;

/**
 * Latency at about `rate` requests per second measured by wrk (a C client, so the figure is the
 * server's more than the client's): each connection waits WRK_PACED_DELAY_MS after an answer
 * before its next request, with enough connections for the rate. Closed-loop, so a stall delays
 * the following requests instead of piling them up: a companion to runPaced, not a replacement.
 * Undefined without wrk. Returns { rps, latency: { p50, p99 } (ms), connections, statusCodes, errors, timeouts }.
 */
export async function runWrkPaced({ url, requests, rate, duration }) {
  if (!wrkBin) return undefined;
  const connections = Math.max(1, Math.ceil((rate * (WRK_PACED_DELAY_MS + 0.1)) / 1000));
  const r = await runWrk({ bin: wrkBin, url, requests, connections, duration, delayMs: WRK_PACED_DELAY_MS });
  return { ...r, latency: { p50: r.latencyUs.p50 / 1000, p99: r.latencyUs.p99 / 1000 } };
}

/**
 * One autocannon run. `collectLatency`: record every response time exactly (autocannon's own
 * histogram keeps whole milliseconds only, too coarse for sub-millisecond targets).
 * Returns { rps (2xx per second), total, non2xx, errors, timeouts, statusCodes, latency, raw }.
 */
export function runAutocannon({ url, requests, headers, method, body, connections = 50, duration, amount, overallRate, collectLatency = false }) {
  return new Promise((resolve, reject) => {
    const samples = collectLatency ? new Samples() : undefined;
    const opts = {
      url,
      connections,
      pipelining: 1,
      ...(amount ? { amount } : { duration }),
      ...(overallRate ? { overallRate: Math.max(1, Math.round(overallRate)) } : {}),
      // Raw response times: with a rate, autocannon otherwise adds synthetic samples for coordinated
      // omission, computed from a 1 ms interval whatever the rate.
      ...(overallRate ? { ignoreCoordinatedOmission: true } : {}),
      ...(requests ? { requests } : {}),
      ...(headers ? { headers } : {}),
      ...(method ? { method } : {}),
      ...(body ? { body } : {}),
      timeout: 10,
    };
    const instance = autocannon(opts, (err, result) => {
      if (err) return reject(err);
      const ok = result['2xx'];
      resolve({
        rps: ok / result.duration,
        total: ok + result.non2xx,
        ok,
        non2xx: result.non2xx,
        errors: result.errors,
        timeouts: result.timeouts,
        duration: result.duration,
        connections: result.connections,
        statusCodes: Object.fromEntries(Object.entries(result.statusCodeStats).map(([k, v]) => [k, v.count])),
        // autocannon's own histogram (whole ms), kept for reference.
        autocannonLatencyMs: { p50: result.latency.p50, p99: result.latency.p99, max: result.latency.max },
        latency: samples?.summary(),
      });
    });
    if (samples) instance.on('response', (_client, _status, _bytes, responseTime) => samples.push(responseTime));
  });
}

/**
 * An open-loop load generator at a steady rate: request k is due at start + k/rate, whatever happened
 * to the earlier ones (no coordinated omission), sent on an idle keep-alive connection (a new one
 * when all are busy, up to `maxConnections`). Latency is measured from the write to the end of the
 * response (`latency`) and from the scheduled time (`latencyFromSchedule`, which also counts the
 * generator's own lateness). Unlike autocannon's `overallRate`, which lets every connection send
 * back-to-back until its per-second quota is used and then pause until the next second, the load
 * here is spread evenly over each millisecond.
 *
 * `requests`: an array of complete raw HTTP/1.1 request Buffers, used round-robin. The responses
 * must carry Content-Length (verify replies always do).
 */
export async function runPaced({ port, requests, rate, durationSec, maxConnections = 64, warmConnections = 16 }) {
  const latency = new Samples();
  const fromSchedule = new Samples();
  const statusCodes = {};
  let errors = 0;
  let rr = 0;
  let open = 0;
  let peakOpen = 0;
  let inflight = 0;
  const idle = [];
  const backlog = [];
  let backlogHead = 0;
  const all = new Set();

  const connect = () =>
    new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.setNoDelay(true);
      const conn = { socket, buf: undefined, sentAt: 0, schedAt: 0, busy: false };
      all.add(conn);
      socket.once('connect', () => resolve(conn));
      socket.on('data', (chunk) => onData(conn, chunk));
      socket.on('error', (err) => {
        if (conn.busy) {
          errors++;
          inflight--;
          conn.busy = false;
        }
        all.delete(conn);
        open--;
        reject(err);
      });
      socket.on('close', () => {
        if (conn.busy) {
          errors++;
          inflight--;
          conn.busy = false;
        }
        if (all.delete(conn)) open--;
        const i = idle.indexOf(conn);
        if (i !== -1) idle.splice(i, 1);
      });
    });

  const send = (conn, schedAt) => {
    conn.busy = true;
    conn.schedAt = schedAt;
    conn.sentAt = performance.now();
    inflight++;
    conn.socket.write(requests[rr++ % requests.length]);
  };

  const onData = (conn, chunk) => {
    conn.buf = conn.buf ? Buffer.concat([conn.buf, chunk]) : chunk;
    const buf = conn.buf;
    const end = buf.indexOf('\r\n\r\n');
    if (end === -1) return;
    const head = buf.toString('latin1', 0, end);
    const cl = /\r\ncontent-length:[ \t]*(\d+)/i.exec(head);
    const need = end + 4 + (cl ? Number(cl[1]) : 0);
    if (buf.length < need) return;
    const now = performance.now();
    conn.buf = undefined;
    conn.busy = false;
    inflight--;
    const status = head.slice(9, 12);
    statusCodes[status] = (statusCodes[status] ?? 0) + 1;
    latency.push(now - conn.sentAt);
    fromSchedule.push(now - conn.schedAt);
    if (backlogHead < backlog.length) send(conn, backlog[backlogHead++]);
    else idle.push(conn);
  };

  const dispatch = (schedAt) => {
    if (idle.length > 0) send(idle.pop(), schedAt);
    else if (open < maxConnections) {
      open++;
      peakOpen = Math.max(peakOpen, open);
      connect().then(
        (conn) => (backlogHead < backlog.length ? send(conn, backlog[backlogHead++]) : send(conn, schedAt)),
        () => errors++,
      );
    } else backlog.push(schedAt);
  };

  for (let i = 0; i < warmConnections; i++) {
    open++;
    peakOpen = Math.max(peakOpen, open);
    idle.push(await connect());
  }

  const durationMs = durationSec * 1000;
  const start = performance.now();
  let sent = 0;
  await new Promise((resolve) => {
    const timer = setInterval(() => {
      const elapsed = performance.now() - start;
      const due = Math.floor((Math.min(elapsed, durationMs) * rate) / 1000);
      while (sent < due) dispatch(start + (sent++ * 1000) / rate);
      if (elapsed >= durationMs) {
        clearInterval(timer);
        resolve();
      }
    }, 1);
  });
  const drainDeadline = performance.now() + 10_000;
  while ((inflight > 0 || backlogHead < backlog.length) && performance.now() < drainDeadline) await new Promise((r) => setTimeout(r, 5));
  const elapsedSec = (performance.now() - start) / 1000;
  for (const conn of all) conn.socket.destroy();
  const completed = latency.length;
  return {
    rate,
    sent,
    completed,
    achievedRate: completed / elapsedSec,
    errors,
    statusCodes,
    connectionsUsed: peakOpen,
    latency: latency.summary(),
    latencyFromSchedule: fromSchedule.summary(),
  };
}

/** A raw HTTP/1.1 GET with the given headers (a Host header included), as a Buffer. */
export function rawGet(path, headers) {
  let text = `GET ${path} HTTP/1.1\r\n`;
  for (const [name, value] of Object.entries(headers)) text += `${name}: ${value}\r\n`;
  return Buffer.from(`${text}\r\n`, 'latin1');
}
