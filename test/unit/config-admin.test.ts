import { describe, expect, test } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { problemsOf } from '../support/config-problems.js';

describe('admin', () => {
  test('the admin page is for role admin by default', () => {
    expect(parseConfig({}).config.admin).toEqual({ subjects: ['role:admin'] });
  });

  test('admin.subjects takes users, groups and roles as access rules do, or none', () => {
    expect(parseConfig({ admin: { subjects: ['user:alice', 'group:ops'] } }).config.admin.subjects).toEqual(['user:alice', 'group:ops']);
    expect(parseConfig({ admin: { subjects: [] } }).config.admin.subjects).toEqual([]);
  });

  test('a subject not written user:NAME, group:NAME or role:NAME names the key and the value', () => {
    expect(problemsOf(() => parseConfig({ admin: { subjects: ['admin', 'role:admin'] } }))).toEqual([
      "admin.subjects[0] must be user:NAME, group:NAME or role:NAME, got 'admin'",
    ]);
  });

  test('an unknown key under admin is reported', () => {
    expect(problemsOf(() => parseConfig({ admin: { users: ['alice'] } }))).toEqual([expect.stringContaining('admin.users')]);
  });
});
