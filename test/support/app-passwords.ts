import { request } from 'node:http';
import { editUsersFile } from '../../src/auth/users-file-writer.js';
import type { UsersFile } from '../../src/auth/users-file.js';
import { generateToken, type AppPassword } from '../../src/tokens/app-password.js';
import type { AppFixture } from './app-fixture.js';

/** Adds an app password for `username` to the fixture's users file, waits for the app to see it, and returns the token. */
export async function addAppPassword(
  app: Pick<AppFixture, 'usersFile' | 'deps'>,
  username: string,
  opts: { name?: string; expires?: number; hosts?: string[]; readOnly?: boolean } = {},
): Promise<{ token: string; id: string }> {
  const { token, id, hash } = generateToken();
  const entry: AppPassword = {
    id,
    name: opts.name ?? 'test client',
    hash,
    created: Date.now(),
    readOnly: opts.readOnly ?? false,
    ...(opts.expires === undefined ? {} : { expires: opts.expires }),
    ...(opts.hosts === undefined ? {} : { hosts: opts.hosts }),
  };
  await editUsersFile(app.usersFile, (file) => file.addAppPassword(username, entry));
  await (app.deps.users as UsersFile).reload();
  return { token, id };
}

export function basic(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

/** A raw GET with a flat header list, so a header may appear several times (Authorization twice). */
export function rawGet(port: number, path: string, headers: string[]): Promise<{ status: number; headers: Record<string, string | string[] | undefined> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET', headers }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}
