import { loadOrCreateGeneratedSecret } from './generated-secret.js';

/**
 * The session secret when the config gives none: generated once into `<data_dir>/session.secret`
 * (mode 0600) and read back on every start, so CSRF tokens and fingerprints survive restarts.
 */
export function loadOrCreateSessionSecret(dataDir: string): Promise<{ secret: string; created: boolean }> {
  return loadOrCreateGeneratedSecret(dataDir, 'session.secret', 'session.secret');
}
