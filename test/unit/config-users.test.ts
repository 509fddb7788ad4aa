/** users.min_password_length: its default, its range, and the environment override every key has. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { loadConfig, parseConfig } from '../../src/config/load.js';
import { problemsOf } from '../support/config-problems.js';


describe('users.min_password_length', () => {
  test('defaults to 12', () => {
    expect(parseConfig({}).config.users.min_password_length).toBe(12);
  });

  test('takes an integer from 1 to 128', () => {
    expect(parseConfig({ users: { min_password_length: 20 } }).config.users.min_password_length).toBe(20);
    expect(parseConfig({ users: { min_password_length: 1 } }).config.users.min_password_length).toBe(1);
  });

  test.each([0, 129, 12.5, 'twelve'])('refuses %j naming the key and the value', (value) => {
    expect(problemsOf(() => parseConfig({ users: { min_password_length: value } }))).toEqual([
      `users.min_password_length must be an integer between 1 and 128, got '${value}'`,
    ]);
  });

  test('is set from POSTERN_USERS_MIN_PASSWORD_LENGTH', () => {
    const cwd = mkdtempSync(join(tmpdir(), 'postern-config-')); // empty: no ./postern.yml
    try {
      const { config } = loadConfig({ argv: [], env: { POSTERN_USERS_MIN_PASSWORD_LENGTH: '16' }, cwd });
      expect(config.users.min_password_length).toBe(16);
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });
});
