/**
 * The running server holds every refused sign-in to the slowest hash in its users file: it times the
 * hashes at start and again whenever the file is reloaded (main.ts's wiring of hasher.calibrate).
 */
import { pbkdf2Sync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import bcrypt from 'bcrypt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MARGIN } from '../../src/auth/refusal-floor.js';
import { startPostern, type PosternProcess } from '../support/postern-process.js';
import { waitFor } from '../support/wait.js';

const CONFIG = `
server: { public_url: "http://auth.example.com", trusted_proxies: [loopback] }
session: { domain: example.com }
users: { argon2: { memory_cost: 8192, time_cost: 1, parallelism: 1 } }
`;

let postern: PosternProcess;
const calibrations = () => postern.logLines().filter((l) => l.event === 'hasher.calibrated');

beforeAll(async () => {
  postern = await startPostern(CONFIG);
}, 30_000);
afterAll(() => postern.cleanup());

describe('calibration of the refusal floor', () => {
  it('is done before the server listens, over the first admin hash and the dummy (same class)', () => {
    const lines = postern.logLines();
    const calibrated = lines.findIndex((l) => l.event === 'hasher.calibrated');
    expect(calibrated).toBeGreaterThanOrEqual(0);
    expect(calibrated).toBeLessThan(lines.findIndex((l) => l.event === 'listening'));
    expect(Object.keys(lines[calibrated]!.classes as object)).toEqual(['argon2id m=8192 t=1 p=1']);
  });

  it('is done again when the users file is reloaded, and the floor follows the slowest hash now in it', async () => {
    const salt = 'c0ffee00c0ffee00c0ffee00c0ffee00';
    const pbkdf2 = `pbkdf2_sha256$600000$${salt}$${pbkdf2Sync('frigate-password', salt, 600_000, 32, 'sha256').toString('base64')}`;
    const bcryptHash = `$2y$${(await bcrypt.hash('htpasswd-password', 10)).slice(4)}`;
    writeFileSync(join(postern.dir, 'data', 'users.yml'), `users:\n  frigate:\n    password: "${pbkdf2}"\n  webdav:\n    password: "${bcryptHash}"\n`);
    await waitFor(() => calibrations().length >= 2, { what: 'a second calibration after the reload', timeoutMs: 20_000 });
    const line = calibrations()[1]!;
    const classes = line.classes as Record<string, number>;
    expect(Object.keys(classes).sort()).toEqual(['argon2id m=8192 t=1 p=1', 'bcrypt cost=10', 'pbkdf2_sha256 i=600000']);
    expect(line.floorMs).toBe(Math.round(MARGIN * Math.max(...Object.values(classes))));
    // No hash in the log: only classes and milliseconds.
    expect(JSON.stringify(line)).not.toContain(salt);
    expect(JSON.stringify(line)).not.toContain(bcryptHash.slice(7));
  }, 30_000);
});
