// @ts-check
// Shared by the tests and the benchmark (plain JavaScript, JSDoc types: see child.js).
import net from 'node:net';

// Below Linux's ephemeral range (32768–60999): the kernel never hands these out as the local port of
// an outgoing connection, so a server restarted on its old port does not find a client socket on it.
const LOW = 20_000;
const HIGH = 32_000;
/** @type {Set<number>} */
const used = new Set();

/**
 * @param {number} port
 * @returns {Promise<boolean>}
 */
function tryBind(port) {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/**
 * A loopback TCP port that was free a moment ago, chosen at random below the ephemeral range and
 * never twice by one process. Another process may still take it before the caller binds it:
 * callers that start a server treat "address in use" as a reason to try another port.
 * @returns {Promise<number>}
 */
export async function freePort() {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = LOW + Math.floor(Math.random() * (HIGH - LOW));
    if (used.has(port)) continue;
    if (await tryBind(port)) {
      used.add(port);
      return port;
    }
  }
  throw new Error(`freePort: no free port found between ${LOW} and ${HIGH}`);
}
