import { describe, expect, it } from 'vitest';
import { CliError } from '../../src/cli/io.js';
import { formatTable, sessionByHandlePrefix } from '../../src/cli/sessions-command.js';
import { sessionRow } from '../../src/sessions/manage.js';
import { sessionHandle, type StoredSession } from '../../src/store/session-store.js';

const T = Date.UTC(2026, 11, 2, 8, 30, 15);
const ID = 'Qm9iYnlUYWJsZXM-IGlzIGEgZ29vZCBuYW1lIGZvciBhIGNhdA';

function stored(id: string, overrides: Record<string, unknown> = {}): StoredSession {
  return { id, data: { user: 'alice', via: 'local', created: T, expires: T + 3_600_000, seen: T + 60_000, pwv: 'x', ip: '203.0.113.7', ua: 'Firefox 128 on Linux', ...overrides } };
}

function cliErrorOf(fn: () => unknown): CliError {
  try {
    fn();
  } catch (err) {
    if (err instanceof CliError) return err;
    throw err;
  }
  throw new Error('expected a CliError');
}

describe('sessions list rows', () => {
  it('show the first 8 characters of the handle, never the session id (the cookie value)', () => {
    const row = sessionRow(stored(ID));
    expect(row).toEqual({
      id: sessionHandle(ID).slice(0, 8),
      user: 'alice',
      method: 'password',
      created: '2026-12-02T08:30:15Z',
      last_seen: '2026-12-02T08:31:15Z',
      address: '203.0.113.7',
      agent: 'Firefox 128 on Linux',
    });
    expect(row.id).toMatch(/^[0-9a-f]{8}$/);
    expect(JSON.stringify(row)).not.toContain(ID.slice(0, 8));
  });

  it.each([
    ['a provider session', { via: 'oidc:corp', idp: 'corp' }, 'oidc:corp'],
    ['a local user linked by email at a provider', { via: 'local', idp: 'corp' }, 'oidc:corp'],
    ['a password session', {}, 'password'],
    ['a password session with an authenticator code', { amr: ['pwd', 'otp'] }, 'password+otp'],
    ['a password session stepped up with a recovery code', { amr: ['pwd', 'recovery'] }, 'password+recovery'],
    ['a provider session that vouched for two factors', { via: 'oidc:corp', idp: 'corp', amr: ['oidc', 'mfa'] }, 'oidc:corp+mfa'],
  ])('name the method of %s', (_what, overrides, method) => {
    expect(sessionRow(stored(ID, overrides)).method).toBe(method);
  });

  it('show - for what a session made before addresses were recorded does not have', () => {
    const { ip: _ip, ua: _ua, ...older } = stored(ID).data;
    expect(sessionRow({ id: ID, data: older })).toMatchObject({ address: '-', agent: '-' });
  });

  it('line up under a header, and no control character reaches the terminal', () => {
    const table = formatTable([sessionRow(stored(ID)), sessionRow(stored('other', { user: 'bob\u001b[2J', ua: undefined }))]);
    const lines = table.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID {8}USER +METHOD +CREATED +LAST SEEN +ADDRESS +AGENT$/);
    expect(lines[1]).toContain('alice');
    expect(lines[2]).toContain('bob?[2J');
    expect(table).not.toContain('\u001b');
    expect(lines[1]!.indexOf('password')).toBe(lines[0]!.indexOf('METHOD'));
  });
});

describe('sessions revoke --id', () => {
  // Ids chosen so that two handles share their first hex digit, and one does not.
  const sessions = Array.from({ length: 17 }, (_, i) => stored(`session-${i}`));
  const handles = sessions.map((s) => sessionHandle(s.id));
  const shared = [...handles].find((h, i) => handles.some((other, j) => j !== i && other[0] === h[0]))![0]!;

  it('finds the one session a prefix names, in any case', () => {
    expect(sessionByHandlePrefix(sessions, handles[3]!.slice(0, 8).toUpperCase())).toBe(sessions[3]);
  });

  it('refuses an ambiguous prefix with exit 2, saying how many sessions match', () => {
    const err = cliErrorOf(() => sessionByHandlePrefix(sessions, shared));
    expect(err.exitCode).toBe(2);
    expect(err.message).toMatch(/^postern: \d+ sessions have an ID starting with '[0-9a-f]'; nothing was revoked/);
  });

  it('refuses an unknown prefix with exit 2', () => {
    const unknown = ['0000000000', 'ffffffffff'].find((p) => !handles.some((h) => h.startsWith(p)))!;
    const err = cliErrorOf(() => sessionByHandlePrefix(sessions, unknown));
    expect(err.exitCode).toBe(2);
    expect(err.message).toContain(`no session has an ID starting with '${unknown}'; nothing was revoked`);
  });

  it.each(['', '  ', 'not-hex', ID])('refuses %j, which is not an ID, with exit 2', (input) => {
    const err = cliErrorOf(() => sessionByHandlePrefix(sessions, input));
    expect(err.exitCode).toBe(2);
    expect(err.message).toContain('is not a session ID');
  });
});
