/**
 * The users file as the `postern user` commands read it outside the writer's lock (a check before
 * any slow work, and `list`), and its problems in the CLI's words (exit 1).
 */
import { readFile } from 'node:fs/promises';
import type { User } from '../auth/user.js';
import { parseUsersFile } from '../auth/users-file-parse.js';
import { UsersFileProblemsError } from '../auth/users-file-writer.js';
import { CliError } from './io.js';

/** The file's text, or undefined when it does not exist yet. */
export async function readUsersText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CliError(`postern: cannot read users file ${path}: ${(err as Error).message}`, 1);
  }
}

/** The users as they are on disk now (for a check before any slow work); refuses a file with problems. */
export async function currentUsers(path: string): Promise<ReadonlyMap<string, User>> {
  const text = await readUsersText(path);
  if (text === undefined) return new Map();
  const { users, problems } = parseUsersFile(text, path);
  if (problems.length > 0) throw asCliError(new UsersFileProblemsError(path, problems, 'read'));
  return users;
}

/** Errors of the users file writer, in the CLI's words. */
export function asCliError(err: unknown): unknown {
  if (!(err instanceof UsersFileProblemsError)) return err;
  const advice = err.stage === 'read' ? 'fix them by hand, then run this command again' : 'nothing was written';
  return new CliError(problemReport(err.path, err.problems, advice), 1);
}

/** The file's problems, one a line, after what to do about them (`advice`). */
export function problemReport(path: string, problems: readonly string[], advice: string): string {
  const count = `${problems.length} problem${problems.length === 1 ? '' : 's'}`;
  return `postern: users file ${path} has ${count}; ${advice}:\n${problems.map((p) => `  - ${p}`).join('\n')}`;
}
