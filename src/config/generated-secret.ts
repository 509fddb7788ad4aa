import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../util/atomic-file.js';
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
  const secret = randomBytes(32).toString('base64url');
  // Whole or not at all, and never over a secret another process wrote a moment ago: two replicas
  // starting together on one data_dir both end up with the one that was written first.
  if (await writeFileAtomic(path, `${secret}\n`, { exclusive: true })) return { secret, created: true };
  return { secret: (await readSecret(path, setting))!, created: false };
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
