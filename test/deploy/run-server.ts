import type { ChildProcess } from 'node:child_process';
import { spawnTracked, stopChild } from '../support/child.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { waitFor } from '../support/wait.js';

export interface ServerProcess {
  /** Every line written to stdout and stderr so far. */
  readonly output: string[];
  stop(): Promise<void>;
}

/**
 * Starts `command args` as a deployment file would (its own argv, cwd and environment, nothing
 * inherited from the test run) and resolves once Postern logs that it is listening.
 */
export async function startServer(command: string, args: readonly string[], opts: { cwd: string; env: Record<string, string> }): Promise<ServerProcess> {
  const child: ChildProcess = spawnTracked(command, args, { cwd: opts.cwd, env: opts.env });
  const output: string[] = [];
  let partial = '';
  const collect = (data: Buffer): void => {
    partial += data.toString();
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    output.push(...lines);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  try {
    await waitFor(
      () => {
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`exited with ${child.exitCode ?? child.signalCode}`);
        return output.some((l) => l.includes('"event":"listening"'));
      },
      { timeoutMs: 20_000, what: `${args.join(' ')} to listen` },
    );
  } catch (err) {
    await stopChild(child);
    const cause = (err as Error).cause as Error | undefined;
    throw new Error(`${(err as Error).message}${cause ? ` (${cause.message})` : ''}:\n${output.join('\n')}`);
  }
  return {
    output,
    // The first SIGTERM starts Postern's graceful shutdown (server.shutdown_grace, 5 s by default, for a
    // load balancer); a second one ends the grace period at once: there is no load balancer here to wait for.
    async stop() {
      child.kill('SIGTERM');
      await sleep(100);
      await stopChild(child);
    },
  };
}
