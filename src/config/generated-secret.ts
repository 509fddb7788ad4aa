import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * A secret the config did not give: generated once into `<data_dir>/<file>` (mode 0600) and read
 * back on every start, so whatever it keys survives restarts. `setting` names the config key that
 * would make the file unnecessary, for the message about a file that is too short.
 * Used for the session secret (session.secret) and the encryption key (secrets.encryption_key).
 */
export async function loadOrCreateGeneratedSecret(dataDir: string, file: string, setting: string): Promise<{ secret: string; created: boolean }> {
  const path = join(dataDir, file);
  const existing = await readSecret(path, setting);
  if (existing !== undefined) return { secret: existing, created: false };
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const secret = randomBytes(32).toString('base64url');
  try {
    // 'wx': never overwrite a secret another process wrote a moment ago.
    await writeFile(path, `${secret}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return { secret: (await readSecret(path, setting))!, created: false };
  }
  return { secret, created: true };
}

async function readSecret(path: string, setting: string): Promise<string | undefined> {
  try {
    const secret = (await readFile(path, 'utf8')).trim();
    if (secret.length >= 32) return secret;
    throw new Error(`${path} holds fewer than 32 characters; delete it to have a new secret generated, or set ${setting}`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    return undefined;
  }
}
