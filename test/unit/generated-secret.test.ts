import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadOrCreateGeneratedSecret } from '../../src/config/generated-secret.js';

let dir: string;
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('a secret generated into data_dir', () => {
  // Two replicas starting together on one data_dir (as in the shutdown test): the file is written whole
  // (temp file + link), so no starter reads it between its creation and its content.
  it('is the same for every starter racing to create it, and created once', async () => {
    dir = mkdtempSync(join(tmpdir(), 'postern-secret-'));
    const data = join(dir, 'data');
    const results = await Promise.all(Array.from({ length: 20 }, () => loadOrCreateGeneratedSecret(data, 'encryption.key', 'secrets.encryption_key')));
    expect(new Set(results.map((r) => r.secret)).size).toBe(1);
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(readFileSync(join(data, 'encryption.key'), 'utf8')).toBe(`${results[0]!.secret}\n`);
    expect(statSync(join(data, 'encryption.key')).mode & 0o777).toBe(0o600);
  });

  it('is read back on the next start, and a short one is refused naming the setting', async () => {
    dir = mkdtempSync(join(tmpdir(), 'postern-secret-'));
    const first = await loadOrCreateGeneratedSecret(dir, 'session.secret', 'session.secret');
    expect(await loadOrCreateGeneratedSecret(dir, 'session.secret', 'session.secret')).toEqual({ secret: first.secret, created: false });
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(dir, 'short.key'), 'too short\n');
    await expect(loadOrCreateGeneratedSecret(dir, 'short.key', 'secrets.encryption_key')).rejects.toThrow(/short\.key holds fewer than 32 characters; delete it to have a new secret generated, or set secrets\.encryption_key/);
  });
});
