/** The arguments of `postern user ...`, and the one form of a usage error (exit 2). */
import { parseArgs } from 'node:util';
import { hasControlChars, normaliseUsername, validateUsername } from '../auth/username.js';
import { CliError, type CliIO } from './io.js';

type OptionSpec = Record<string, { type: 'string' | 'boolean'; short?: string }>;

export function parse<T extends OptionSpec>(command: string, args: string[], options: T) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw usageError(command, (err as Error).message);
  }
}

/** The arguments of a command whose only option is --help; undefined once --help has shown `usage`. */
export function argumentsOrUsage(command: string, args: string[], usage: string, io: CliIO): string[] | undefined {
  const { values, positionals } = parse(command, args, { help: { type: 'boolean', short: 'h' } });
  if (values.help !== true) return positionals;
  io.stdout.write(usage);
  return undefined;
}

export function usernameArgument(command: string, positionals: string[]): string {
  if (positionals.length === 0) throw usageError(command, 'missing NAME');
  if (positionals.length > 1) throw usageError(command, `unexpected argument '${printable(positionals[1] ?? '')}'`);
  const raw = positionals[0] ?? '';
  const problem = validateUsername(raw);
  if (problem !== undefined) throw usageError(command, `username ${JSON.stringify(raw)} ${problem}`);
  return normaliseUsername(raw);
}

/** True for --generate, false for --password-stdin; exactly one must be given. */
export function passwordSource(command: string, values: { 'password-stdin'?: unknown; generate?: unknown }): boolean {
  const stdin = values['password-stdin'] === true;
  const generate = values.generate === true;
  if (stdin === generate) {
    throw usageError(command, stdin ? 'give only one of --password-stdin and --generate' : 'choose --password-stdin or --generate');
  }
  return generate;
}

export function identityValue(command: string, option: string, value: string): string {
  // These values become response headers: a CR or LF would forge one.
  if (hasControlChars(value)) throw usageError(command, `${option} contains a control character`);
  return value;
}

export function groupsArgument(value: string | undefined): string[] {
  if (value === undefined) return [];
  const groups = value
    .split(',')
    .map((g) => g.trim())
    .filter((g) => g !== '');
  for (const g of groups) identityValue('add', '--groups', g);
  return [...new Set(groups)];
}

export function usageError(command: string, message: string): CliError {
  const full = command === 'user' ? 'postern user' : `postern user ${command}`;
  return new CliError(`${full}: ${message}; see '${full} --help'`, 2);
}

/** An argument echoed back in a message, with any control character escaped. */
export function printable(s: string): string {
  return hasControlChars(s) ? JSON.stringify(s).slice(1, -1) : s;
}
