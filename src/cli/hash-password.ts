/**
 * `postern hash-password`: prints the hash of a password read from standard input, for writing a
 * users file by hand or by a configuration-management tool.
 */
import { parseArgs } from 'node:util';
import type { HashAlgorithm, PasswordHasher } from '../auth/passwords.js';
import { CliError, type CliIO, readNewPassword, reportFailure } from './io.js';

const USAGE = `Usage: postern hash-password [--algorithm argon2id|pbkdf2-sha256]

Read a password from standard input (asked twice on a terminal) and print its hash, ready to paste
into the users file as a user's 'password'.

Options:
  --algorithm ALG   argon2id (default) or pbkdf2-sha256 (the Frigate format)
  -h, --help        show this help
`;

const ALGORITHMS: readonly HashAlgorithm[] = ['argon2id', 'pbkdf2-sha256'];

export async function hashPasswordCommand(
  args: string[],
  io: CliIO,
  deps: { hasher: PasswordHasher },
): Promise<number> {
  try {
    let values: { algorithm?: string; help?: boolean };
    try {
      values = parseArgs({
        args,
        options: { algorithm: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
        allowPositionals: false,
        strict: true,
      }).values;
    } catch (err) {
      throw usageError((err as Error).message);
    }
    if (values.help === true) {
      io.stdout.write(USAGE);
      return 0;
    }
    const algorithm = values.algorithm ?? 'argon2id';
    if (!isAlgorithm(algorithm)) {
      throw usageError(`unknown --algorithm '${algorithm}'; expected ${ALGORITHMS.join(' or ')}`);
    }
    const password = await readNewPassword(io);
    io.stdout.write(`${await deps.hasher.hash(password, algorithm)}\n`);
    return 0;
  } catch (err) {
    return reportFailure(io, err);
  }
}

function isAlgorithm(s: string): s is HashAlgorithm {
  return (ALGORITHMS as readonly string[]).includes(s);
}

function usageError(message: string): CliError {
  return new CliError(`postern hash-password: ${message}; see 'postern hash-password --help'`, 2);
}
