import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** Resolves once something accepts TCP connections on 127.0.0.1:port. */
export async function waitForPort(port: number, what: string, deadlineMs = 10_000, alive: () => boolean = () => true): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (!alive()) throw new Error(`${what} exited before listening on port ${port}`);
    if (Date.now() > deadline) throw new Error(`${what} did not listen on port ${port} within ${deadlineMs} ms`);
    await sleep(25);
  }
}
