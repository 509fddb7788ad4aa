import type { IncomingMessage, Server, ServerResponse } from 'node:http';

/**
 * Binds the listener. A failure says what went wrong and what to do, in one line, because it is what
 * a person or a service manager sees when Postern cannot start.
 */
export async function listen(server: Server, port: number, address: string): Promise<void> {
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, address, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    throw new Error(listenFailure(err as NodeJS.ErrnoException, port, address), { cause: err });
  }
}

function listenFailure(err: NodeJS.ErrnoException, port: number, address: string): string {
  const where = `${address}:${port}`;
  switch (err.code) {
    case 'EADDRINUSE':
      return `cannot listen on ${where}: the port is already in use by another process; stop that process, or set server.port (POSTERN_SERVER_PORT) to a free port`;
    case 'EACCES':
      return `cannot listen on ${where}: permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE); set server.port to 1024 or above`;
    case 'EADDRNOTAVAIL':
      return `cannot listen on ${where}: ${address} is not an address of this machine; set server.address to one of its addresses, or 0.0.0.0`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot listen on ${where}: the host name ${address} does not resolve; set server.address to an IP address of this machine, or 0.0.0.0`;
    default:
      return `cannot listen on ${where}: ${err.message}; check server.address and server.port`;
  }
}

/**
 * While `when()` is true every response carries `Connection: close`. Set from the start of a shutdown,
 * a proxy's keep-alive pool to this process empties during the grace period (each connection ends
 * after its response), so that when the listener closes there is no idle connection left that the
 * proxy could send a request on at the moment it is closed: a POST sent that way is not retried
 * elsewhere, and reaches the client as a 502.
 *
 * It wraps the server's one request listener rather than adding a second: the server then emits
 * each request to a single listener, which is measurably cheaper on the verify path.
 */
export function closeConnectionsWhile<R extends IncomingMessage, S extends ServerResponse>(listener: (req: R, res: S) => unknown, when: () => boolean): (req: R, res: S) => void {
  return (req, res) => {
    if (when()) res.setHeader('Connection', 'close');
    listener(req, res);
  };
}

/**
 * Stops accepting connections and waits for the requests in flight, at most `timeoutMs`; then cuts
 * what is left. Idle connections are closed at once. Resolves true when everything finished in time.
 */
export async function drain(server: Server, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const closed = new Promise<boolean>((resolve) => {
    server.close(() => resolve(true));
    server.closeIdleConnections();
  });
  const timedOut = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  const inTime = await Promise.race([closed, timedOut]);
  clearTimeout(timer);
  if (!inTime) {
    server.closeAllConnections();
    await closed;
  }
  return inTime;
}
