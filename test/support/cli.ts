/** Runs the built CLI (`node dist/cli/main.js`) as a person or a script would. */
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { CLI } from './postern-process.js';

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `node dist/cli/main.js ...args` with `stdin` piped in (closed at once when absent) and only
 * PATH from the environment, so no POSTERN_* variable of the test runner leaks in. Killed, and the
 * test failed, if it has not exited within `timeoutMs`: a command that hangs is a bug.
 */
export function runCli(args: readonly string[], opts: { stdin?: string; cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CliResult> {
  // Generous: a CLI start takes seconds on a loaded two-core machine; a hang still fails the test.
  const timeoutMs = opts.timeoutMs ?? 20_000;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: opts.cwd ?? tmpdir(),
      env: { PATH: process.env.PATH, ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`postern ${args.join(' ')} did not exit within ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    child.stdin.on('error', () => undefined); // a command that exits without reading stdin
    child.stdin.end(opts.stdin ?? '');
  });
}
