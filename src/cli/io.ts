/**
 * The CLI's streams, passed in so that tests drive commands with in-memory streams, and the one
 * place that reads a password from a person or a pipe.
 */
import { MAX_PASSWORD_BYTES } from '../auth/password-length.js';

export interface CliIO {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (b: boolean) => unknown };
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

/**
 * A command failed in a way it has explained: `message` is printed on stderr as is and the command
 * exits with `exitCode` (1 runtime failure, 2 usage error).
 */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: 1 | 2,
  ) {
    super(message);
  }
}

/** The person pressed Ctrl-C or Ctrl-D at a password prompt. */
export class PromptCancelledError extends Error {
  override readonly name = 'PromptCancelledError';
  constructor() {
    super('cancelled at the password prompt');
  }
}

/** Piped input beyond this is not a password; stop reading instead of buffering it. */
const MAX_PIPED_BYTES = 64 * 1024;

/**
 * Reads one password. On a TTY: `prompt` on stderr, no echo, Enter ends, Backspace edits, Ctrl-C
 * or Ctrl-D cancels (PromptCancelledError). Not a TTY: all of stdin, minus one trailing newline
 * (`\n` or `\r\n`), so `echo secret | postern ...` and `< file` both work.
 */
export async function readPassword(io: CliIO, prompt: string): Promise<string> {
  if (io.stdin.isTTY === true && typeof io.stdin.setRawMode === 'function') {
    return readFromTerminal(io, prompt);
  }
  return readPiped(io.stdin);
}

async function readPiped(stdin: CliIO['stdin']): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stdin) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.from(chunk as Uint8Array);
    size += buf.length;
    if (size > MAX_PIPED_BYTES) throw new Error(`standard input is longer than ${MAX_PIPED_BYTES} bytes; expected one password`);
    chunks.push(buf);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.endsWith('\r\n')) return text.slice(0, -2);
  if (text.endsWith('\n')) return text.slice(0, -1);
  return text;
}

function readFromTerminal(io: CliIO, prompt: string): Promise<string> {
  const { stdin, stderr } = io;
  const setRawMode = stdin.setRawMode as (b: boolean) => unknown;
  return new Promise<string>((resolve, reject) => {
    let chars: string[] = [];
    const finish = (result: { password: string } | { error: Error }): void => {
      stdin.removeListener('data', onData);
      stdin.removeListener('end', onEnd);
      stdin.removeListener('error', onError);
      setRawMode.call(stdin, false);
      stdin.pause();
      stderr.write('\n');
      if ('password' in result) resolve(result.password);
      else reject(result.error);
    };
    const onData = (chunk: Buffer | string): void => {
      const text = typeof chunk === 'string' ? chunk : chunk.toString('utf8');
      let offset = 0;
      for (const ch of text) {
        offset += ch.length;
        switch (ch) {
          case '\r':
          case '\n': {
            // Typed ahead (or pasted) past Enter: leave it for the next prompt.
            const rest = text.slice(ch === '\r' && text[offset] === '\n' ? offset + 1 : offset);
            finish({ password: chars.join('') });
            if (rest !== '') stdin.unshift(Buffer.from(rest, 'utf8'));
            return;
          }
          case '\u0003': // Ctrl-C: raw mode turns it into a byte instead of SIGINT
          case '\u0004': // Ctrl-D
            finish({ error: new PromptCancelledError() });
            return;
          case '\u007f': // Backspace (DEL)
          case '\b':
            chars.pop();
            break;
          case '\u0015': // Ctrl-U: clear the line
            chars = [];
            break;
          default:
            chars.push(ch);
        }
      }
    };
    const onEnd = (): void => finish({ password: chars.join('') });
    const onError = (err: Error): void => finish({ error: err });

    stderr.write(prompt);
    setRawMode.call(stdin, true);
    stdin.on('data', onData);
    stdin.once('end', onEnd);
    stdin.once('error', onError);
    stdin.resume();
  });
}

/**
 * Reads a new password for a command: on a TTY it is asked twice and must match. An empty password
 * is refused. Failures are CliErrors that say nothing was changed.
 */
export async function readNewPassword(io: CliIO): Promise<string> {
  const interactive = io.stdin.isTTY === true;
  let password: string;
  try {
    password = await readPassword(io, interactive ? 'New password: ' : '');
    if (password !== '' && interactive) {
      const again = await readPassword(io, 'Repeat the password: ');
      if (again !== password) throw new CliError('postern: the passwords do not match; nothing was changed', 1);
    }
  } catch (err) {
    if (err instanceof PromptCancelledError) throw new CliError('postern: cancelled; nothing was changed', 1);
    throw err;
  }
  if (Buffer.byteLength(password, 'utf8') > MAX_PASSWORD_BYTES) {
    throw new CliError(`postern: the password is longer than ${MAX_PASSWORD_BYTES} bytes; nothing was changed`, 1);
  }
  if (password === '') {
    throw new CliError(
      interactive
        ? 'postern: the password is empty; nothing was changed'
        : 'postern: the password on standard input is empty; nothing was changed (pipe one in, or use --generate)',
      1,
    );
  }
  return password;
}

/**
 * The exit code for an error that escaped a command, after saying what happened on stderr.
 * CliErrors carry their own text and code; anything else is a runtime failure (1).
 */
export function reportFailure(io: CliIO, err: unknown): 1 | 2 {
  if (err instanceof CliError) {
    io.stderr.write(`${err.message}\n`);
    return err.exitCode;
  }
  const message = err instanceof Error ? err.message : String(err);
  io.stderr.write(`postern: ${message}\n`);
  return 1;
}
