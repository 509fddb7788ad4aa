import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * The session secret when the config gives none: generated once into `<data_dir>/session.secret`
 * (mode 0600) and read back on every start, so CSRF tokens and fingerprints survive restarts.
 */
export async function loadOrCreateSessionSecret(dataDir: string): Promise<{ secret: string; created: boolean }> {
  const path = join(dataDir, 'session.secret');
  const existing = await readSecret(path);
  if (existing !== undefined) return { secret: existing, created: false };
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const secret = randomBytes(32).toString('base64url');
  try {
    // 'wx': never overwrite a secret another process wrote a moment ago.
    await writeFile(path, `${secret}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return { secret: (await readSecret(path))!, created: false };
  }
  return { secret, created: true };
}

async function readSecret(path: string): Promise<string | undefined> {
  try {
    const secret = (await readFile(path, 'utf8')).trim();
    if (secret.length >= 32) return secret;
    throw new Error(`${path} holds fewer than 32 characters; delete it to have a new secret generated, or set session.secret`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    return undefined;
  }
}
