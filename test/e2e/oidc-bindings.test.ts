import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, startPostern } from '../support/postern-process.js';

/** The username bindings file as the built program meets it: at start-up, and from the command line. */

const run = promisify(execFile);
let dir: string;
let configFile: string;
let bindingsFile: string;
const BINDING = '{"user":"alice","iss":"http://127.0.0.1:9/","sub":"alice-sub","provider":"idp","created":1764633600000}';

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'postern-bindings-e2e-'));
  mkdirSync(join(dir, 'data'));
  bindingsFile = join(dir, 'data', 'oidc-bindings.jsonl');
  configFile = join(dir, 'postern.yml');
  // The provider is never reached: discovery fails in the background, which does not matter here.
  writeFileSync(
    configFile,
    `server:\n  public_url: http://auth.example.com\nsession:\n  secret: bindings-e2e-secret-bindings-e2e-secret-0123\ndata_dir: ./data\noidc:\n  providers:\n    - id: idp\n      issuer_url: http://127.0.0.1:9/\n      client_id: postern\n`,
  );
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, '--config', configFile, ...args], { cwd: dir, env: { PATH: process.env.PATH } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('postern oidc bindings, and a bindings file that cannot be read', () => {
  it('lists and removes bindings from the file in data_dir', async () => {
    writeFileSync(bindingsFile, `# kept by Postern\n${BINDING}\n`);
    const listed = await cli('oidc', 'bindings', 'list');
    expect(listed.code).toBe(0);
    expect(listed.stdout).toBe(
      'USER   PROVIDER  ISSUER               SUBJECT    BOUND\n' + 'alice  idp       http://127.0.0.1:9/  alice-sub  2025-12-02T00:00:00.000Z\n',
    );
    const removed = await cli('oidc', 'bindings', 'remove', 'alice');
    expect(removed.code).toBe(0);
    expect(removed.stdout).toContain("Released 'alice'");
    expect(readFileSync(bindingsFile, 'utf8')).not.toContain('alice');
    expect((await cli('oidc', 'bindings', 'list', '--json')).stdout).toBe('[]\n');
  });

  it('refuses to start, naming the file and the line, and leaves the file as it was', async () => {
    const text = `# kept by Postern\n${BINDING}\n{"user":"bob","iss":\n`;
    writeFileSync(bindingsFile, text);
    const started = startPostern(readFileSync(configFile, 'utf8'), { dir });
    await expect(started).rejects.toThrow(/postern exited with 1/);
    await expect(started).rejects.toThrow(`${bindingsFile} line 3 is not JSON: fix or remove that line`);
    expect(readFileSync(bindingsFile, 'utf8')).toBe(text);
    const listed = await cli('oidc', 'bindings', 'list');
    expect(listed.code).toBe(1);
    expect(listed.stderr).toContain(`${bindingsFile} line 3 is not JSON`);
  }, 30_000);
});
