/**
 * deploy/systemd/postern.service: checked by systemd's own parser (`systemd-analyze verify`, and
 * `security --offline` for the hardening score) where systemd-analyze is installed, by a small
 * parser of its own everywhere, and by running its ExecStart the way systemd would (its argv,
 * environment and working directory; the sandbox itself needs systemd as PID 1 and is not run here).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/free-port.js';
import { startServer } from './run-server.js';

const ROOT = resolve(import.meta.dirname, '../..');
const UNIT_TEXT = readFileSync(join(ROOT, 'deploy/systemd/postern.service'), 'utf8');
const ANALYZE = ['/usr/bin/systemd-analyze', '/bin/systemd-analyze'].find((p) => existsSync(p));
const temp = mkdtempSync(join(tmpdir(), 'postern-systemd-'));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

/** Sections of key=value lines; a key may repeat (Environment, SystemCallFilter). */
function parseUnit(text: string): Map<string, Array<[string, string]>> {
  const sections = new Map<string, Array<[string, string]>>();
  let current: Array<[string, string]> | undefined;
  for (const [n, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const section = /^\[([A-Za-z]+)\]$/.exec(line);
    if (section) {
      current = [];
      sections.set(section[1]!, current);
      continue;
    }
    const eq = line.indexOf('=');
    if (!current || eq <= 0) throw new Error(`line ${n + 1} is neither a [Section] nor Key=value: ${raw}`);
    current.push([line.slice(0, eq), line.slice(eq + 1)]);
  }
  return sections;
}

const unit = parseUnit(UNIT_TEXT);
const service = unit.get('Service') ?? [];
const values = (key: string) => service.filter(([k]) => k === key).map(([, v]) => v);
const value = (key: string) => {
  const all = values(key);
  expect(all, key).toHaveLength(1);
  return all[0]!;
};
const environment = () => Object.fromEntries(values('Environment').map((e) => e.split(/=(.*)/s).slice(0, 2) as [string, string]));

/** The unit with ExecStart's node replaced by the one running the tests, so verify finds it on any machine. */
function unitHere(): string {
  const path = join(temp, 'postern.service');
  writeFileSync(path, UNIT_TEXT.replace(/^ExecStart=\S+/m, `ExecStart=${process.execPath}`));
  return path;
}

describe('deploy/systemd/postern.service', () => {
  it('has the three sections and runs as a dedicated user with a state directory that is its data_dir', () => {
    expect([...unit.keys()]).toEqual(['Unit', 'Service', 'Install']);
    expect(value('User')).toBe('postern');
    expect(value('Group')).toBe('postern');
    expect(value('StateDirectory')).toBe('postern');
    expect(value('StateDirectoryMode')).toBe('0700');
    expect(value('WorkingDirectory')).toBe('/var/lib/postern');
    expect(value('ReadWritePaths')).toBe('/var/lib/postern');
    expect(unit.get('Install')).toEqual([['WantedBy', 'multi-user.target']]);
  });

  it('is hardened: no new privileges, a read-only system, a private /tmp, no capabilities', () => {
    expect(value('NoNewPrivileges')).toBe('yes');
    expect(value('ProtectSystem')).toBe('strict');
    expect(value('PrivateTmp')).toBe('yes');
    expect(value('ProtectHome')).toBe('yes');
    expect(value('CapabilityBoundingSet')).toBe('');
    expect(value('UMask')).toBe('0077');
    // V8 writes and executes its compiled code: this setting would kill Node.
    expect(values('MemoryDenyWriteExecute')).toEqual([]);
  });

  it('returns argon2 buffers to the system (MALLOC_MMAP_THRESHOLD_) and restarts after a failed start', () => {
    expect(environment().MALLOC_MMAP_THRESHOLD_).toBe('1048576');
    expect(value('Restart')).toBe('on-failure');
    expect(value('ExecStart')).toMatch(/\/dist\/cli\/main\.js --config \/etc\/postern\/postern\.yml serve$/);
  });

  it.skipIf(!ANALYZE)('passes `systemd-analyze verify` without a single warning', () => {
    const run = spawnSync(ANALYZE!, ['verify', unitHere()], { encoding: 'utf8' });
    expect(`${run.stdout}${run.stderr}`).toBe('');
    expect(run.status).toBe(0);
  });

  it.skipIf(!ANALYZE)('scores at most 2.0 ("OK") in `systemd-analyze security`', () => {
    const out = execFileSync(ANALYZE!, ['security', '--offline=yes', '--no-pager', unitHere()], { encoding: 'utf8' });
    const score = Number(/Overall exposure level for postern\.service: ([0-9.]+)/.exec(out)?.[1]);
    expect(score).toBeLessThanOrEqual(2);
  });

  it('starts Postern with its ExecStart arguments, environment and working directory', async () => {
    const state = join(temp, 'var-lib-postern');
    mkdirSync(state, { mode: 0o700 });
    const port = await freePort();
    const config = join(temp, 'postern.yml');
    writeFileSync(config, `data_dir: ${state}\nserver:\n  address: 127.0.0.1\n  port: ${port}\n`);
    const [, ...args] = value('ExecStart').split(' ');
    const argv = args.map((a) => a.replace('/opt/postern/', `${ROOT}/`).replace('/etc/postern/postern.yml', config));
    const server = await startServer(process.execPath, argv, { cwd: state, env: { PATH: process.env.PATH ?? '', ...environment() } });
    try {
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
      // The generated session secret went to the state directory.
      expect(existsSync(join(state, 'session.secret'))).toBe(true);
    } finally {
      await server.stop();
    }
  });
});
