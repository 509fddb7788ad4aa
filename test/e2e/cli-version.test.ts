import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const CLI = join(ROOT, 'dist/cli/main.js');
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
// An empty folder with a broken ./postern.yml: version and help must not need a valid configuration.
const cwd = mkdtempSync(join(tmpdir(), 'postern-version-'));
writeFileSync(join(cwd, 'postern.yml'), 'session: { ttl: 0s }\n');
afterAll(() => rmSync(cwd, { recursive: true, force: true }));

/** Runs the built CLI; the tests run concurrently, each start of Node is most of their time. */
function postern(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { cwd, env: { PATH: process.env.PATH }, encoding: 'utf8', timeout: 10_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr });
    });
  });
}

describe.concurrent('postern --version and postern version', () => {
  it.each([['--version'], ['version']])('%s prints the version from package.json and exits 0', async (arg) => {
    expect(await postern(arg)).toEqual({ code: 0, stdout: `postern ${VERSION}\n`, stderr: '' });
  });

  it.each([['--version', 'serve'], ['serve', '--version'], ['version', 'extra'], ['--config', 'x.yml', '--version'], ['--version', '--version']])(
    'with other arguments (%s %s) says so and exits 2, printing nothing on stdout',
    async (...args) => {
      const result = await postern(...args);
      expect(result.code).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toBe(`postern: --version and version take no other arguments (got: ${args.join(' ')}); run 'postern --version' alone\n`);
    },
  );

  it('is listed in the top-level help', async () => {
    const help = await postern('--help');
    expect(help.stdout).toContain('  version                    print the version (also --version)\n');
    expect(help.stdout).toContain('  --version                  print the version\n');
  });

  // It took 250 ms, four times a bare Node start, when cli/main.ts imported the config loader (zod,
  // yaml, the schema) for every command.
  it('loads no dependency and not the configuration: only the CLI entry and what it needs to answer', async () => {
    // Module hooks that write every file loaded, one URL a line, to stderr.
    writeFileSync(join(cwd, 'hooks.mjs'), "import { writeSync } from 'node:fs';\nexport async function load(url, context, next) { if (url.startsWith('file:')) writeSync(2, `${url}\\n`); return next(url, context); }\n");
    writeFileSync(join(cwd, 'trace.mjs'), "import { register } from 'node:module';\nregister('./hooks.mjs', import.meta.url);\n");
    const loaded = await new Promise<string[]>((resolve, reject) => {
      execFile(process.execPath, ['--import', join(cwd, 'trace.mjs'), CLI, '--version'], { cwd, env: { PATH: process.env.PATH }, encoding: 'utf8', timeout: 10_000 }, (err, stdout, stderr) => {
        if (err) reject(err);
        else resolve(stderr.trimEnd().split('\n').map((url) => url.replace(`file://${ROOT}/`, '')));
      });
    });
    expect(loaded).toContain('dist/cli/main.js');
    const needless = loaded.filter((file) => file.includes('node_modules/') || (file.startsWith('dist/config/') && file !== 'dist/config/errors.js'));
    expect(needless).toEqual([]);
  });
});

describe.concurrent('postern serve --help', () => {
  it.each([['serve', '--help'], ['serve', '-h'], ['--config', 'elsewhere.yml', 'serve', '--help']])('%s %s prints what serve does, without starting, and exits 0', async (...args) => {
    const result = await postern(...args);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/^Usage: postern \[--config FILE\] serve\n\nStarts the server/);
    expect(result.stdout).toContain('a change to the configuration file takes effect only after a restart');
  });
});

describe.concurrent('postern <command> --help, for every command', () => {
  it.each([['serve'], ['hash-password'], ['user'], ['throttle'], ['access'], ['config'], ['sessions'], ['oidc'], ['version']])(
    'postern %s --help prints its usage on stdout and exits 0, even with a broken ./postern.yml',
    async (command) => {
      const result = await postern(command, '--help');
      expect(result.code).toBe(0);
      expect(result.stderr).toBe('');
      expect(result.stdout).toMatch(/^Usage: postern /);
    },
  );
});
