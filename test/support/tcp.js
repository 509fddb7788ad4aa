// @ts-check
// Shared by the tests and the benchmark (plain JavaScript, JSDoc types: see child.js).
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Resolves once something accepts TCP connections on 127.0.0.1:port. `detail`: more to say when it
 * fails (a log tail).
 * @param {number} port
 * @param {string} what
 * @param {number} [deadlineMs]
 * @param {() => boolean} [alive]
 * @param {() => string} [detail]
 * @returns {Promise<void>}
 */
export async function waitForPort(port, what, deadlineMs = 10_000, alive = () => true, detail = () => '') {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    /** @type {boolean} */
    const ok = await new Promise((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (!alive()) throw new Error(`${what} exited before listening on port ${port}${detail()}`);
    if (Date.now() > deadline) throw new Error(`${what} did not listen on port ${port} within ${deadlineMs} ms${detail()}`);
    await sleep(25);
  }
}
