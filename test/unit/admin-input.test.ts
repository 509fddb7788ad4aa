import { describe, expect, it } from 'vitest';
import { parseAdminForm } from '../../src/admin/input.js';

const RULES = { minPasswordLength: 12 };
const parse = (action: string, body: Record<string, string>) => parseAdminForm(action, body, RULES);

describe('parseAdminForm: the admin page forms, read once', () => {
  it('reads a new user: normalised name, one group per line, a generated password unless one is set', () => {
    expect(parse('add-user', { user: ' Bob ', role: 'user', groups: 'family\r\n\r\n  friends \nfamily', name: 'Bob B', email: 'bob@example.com', password_mode: 'generate', password: 'ignored' })).toEqual({
      ok: true,
      command: { action: 'add-user', username: 'bob', role: 'user', groups: ['family', 'friends'], name: 'Bob B', email: 'bob@example.com', password: undefined },
    });
    expect(parse('add-user', { user: 'bob', role: 'user', password_mode: 'set', password: 'long enough password' })).toMatchObject({ ok: true, command: { password: 'long enough password', groups: [] } });
  });

  it.each([
    ['add-user', { user: '', role: 'user' }, 'Give a username.'],
    ['add-user', { user: 'bo b', role: 'user' }, 'The username "bo b" contains whitespace.'],
    ['add-user', { user: 'bob', role: '' }, 'Give a role (user, admin, viewer, or a role of your own).'],
    ['add-user', { user: 'bob', role: 'admin,user' }, 'The role "admin,user" contains a comma, which separates groups in the identity headers.'],
    ['set-role', { user: 'bob', role: 'admin\u0007' }, 'The role "admin\\u0007" contains a control character.'],
    ['set-role', { user: 'bob', role: 'user', groups: 'family,admins' }, 'The group "family,admins" contains a comma, which separates groups in the identity headers: put one group per line.'],
    ['set-role', { user: 'bob', role: 'user', groups: 'fam\tily' }, 'The group "fam\\tily" contains a control character.'],
    ['add-user', { user: 'bob', role: 'user', name: 'Bob\u0085' }, 'The name contains a control character.'],
    ['add-user', { user: 'bob', role: 'user', password_mode: 'set', password: 'short' }, 'The password has 5 characters, fewer than users.min_password_length (12). Choose a longer one, or let Postern generate one.'],
    ['remove', {}, 'Give a username.'],
    ['revoke-session', { session: 'not-hex' }, 'That is not a session ID (the ID column of the sessions list).'],
    ['clear-throttle', { ip: '300.1.2.3' }, '"300.1.2.3" is not an IP address.'],
    ['revoke-token', { token: 'abc' }, 'That is not an app password ID (the ID column of the app passwords list).'],
    ['format-disk', { user: 'bob' }, 'There is no admin action "format-disk".'],
  ])('%s %j → "%s"', (action, body, problem) => {
    expect(parse(action, body)).toEqual({ ok: false, problem });
  });

  it('reads the targets of the other actions', () => {
    expect(parse('disable', { user: 'ALICE' })).toEqual({ ok: true, command: { action: 'disable', username: 'alice' } });
    expect(parse('revoke-session', { session: 'ABCDEF12' })).toEqual({ ok: true, command: { action: 'revoke-session', handle: 'abcdef12' } });
    expect(parse('clear-throttle', { ip: '2001:db8::/64', user: 'bob' })).toEqual({ ok: true, command: { action: 'clear-throttle', by: { ip: '2001:db8::/64' } } });
    expect(parse('clear-throttle', { ip: '', user: 'Bob' })).toEqual({ ok: true, command: { action: 'clear-throttle', by: { user: 'bob' } } });
    expect(parse('revoke-token', { token: 'Ab3dE5gH' })).toEqual({ ok: true, command: { action: 'revoke-token', id: 'Ab3dE5gH' } });
  });
});
