import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/errors.js';
import { findConfigFile, readYaml } from '../../src/config/find-file.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'postern-find-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('findConfigFile: --config, then POSTERN_CONFIG, then ./postern.yml', () => {
  it.each([
    [['serve', '--config', 'a.yml'], {}, { file: 'a.yml', source: '--config' }],
    [['--config=b.yml'], { POSTERN_CONFIG: 'c.yml' }, { file: 'b.yml', source: '--config' }],
    [[], { POSTERN_CONFIG: 'c.yml' }, { file: 'c.yml', source: 'POSTERN_CONFIG' }],
    // Empty counts as unset (compose files pass `POSTERN_CONFIG: ${POSTERN_CONFIG}` through).
    [[], { POSTERN_CONFIG: '' }, undefined],
    // After `--` the arguments belong to someone else.
    [['--', '--config', 'a.yml'], {}, undefined],
  ])('argv %j and env %j give %j', (argv, env, expected) => {
    const found = findConfigFile(argv, env, dir);
    expect(found).toEqual(expected === undefined ? undefined : { file: join(dir, expected.file), source: expected.source });
  });

  it('finds ./postern.yml when nothing names a file', () => {
    writeFileSync(join(dir, 'postern.yml'), '');
    expect(findConfigFile([], {}, dir)).toEqual({ file: join(dir, 'postern.yml'), source: undefined });
  });

  it.each([[['--config']], [['--config', '--verbose']], [['--config', '']], [['--config=']]])('%j is an error: --config needs a file path', (argv) => {
    expect(() => findConfigFile(argv, {}, dir)).toThrow(new ConfigError(['--config needs a file path']));
  });
});

describe('readYaml', () => {
  it('gives the plain value and the warnings with file:line:col', () => {
    const file = join(dir, 'postern.yml');
    writeFileSync(file, 'server:\n  port: 9000\n');
    expect(readYaml(file, undefined)).toEqual({ value: { server: { port: 9000 } }, warnings: [] });
  });

  it('a file someone named that does not exist says who named it', () => {
    const file = join(dir, 'missing.yml');
    expect(() => readYaml(file, 'POSTERN_CONFIG')).toThrow(new ConfigError([`config file '${file}' (from POSTERN_CONFIG) does not exist`]));
  });

  it('a syntax error names file:line:col and never quotes the line, which may hold a secret', () => {
    const file = join(dir, 'postern.yml');
    writeFileSync(file, 'session:\n  secret: "hunter2-hunter2\n');
    let message = '';
    try {
      readYaml(file, undefined);
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      message = (error as Error).message;
    }
    expect(message).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+: `));
    expect(message).not.toContain('hunter2');
  });
});
