import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { createIdentityHeaderBlock, headerValue, identityHeaders } from '../../src/auth/identity-headers.js';

const names = { user: 'Remote-User', role: 'Remote-Role', groups: 'Remote-Groups', email: 'Remote-Email', name: 'Remote-Name', auth: 'Remote-Auth' };

describe('identityHeaders', () => {
  it('emits all six headers, empty, for an anonymous request so a proxy overwrites client copies', () => {
    expect(identityHeaders(undefined, names)).toEqual([
      ['Remote-User', ''],
      ['Remote-Role', ''],
      ['Remote-Groups', ''],
      ['Remote-Email', ''],
      ['Remote-Name', ''],
      ['Remote-Auth', ''],
    ]);
  });

  it('joins groups on one line with commas (nginx 1.22 keeps only the first header line)', () => {
    const headers = identityHeaders({ user: 'alice', role: 'admin', groups: ['family', 'admins'], email: 'alice@example.com', name: 'Alice', via: 'local' }, names);
    expect(Object.fromEntries(headers)).toEqual({
      'Remote-User': 'alice',
      'Remote-Role': 'admin',
      'Remote-Groups': 'family,admins',
      'Remote-Email': 'alice@example.com',
      'Remote-Name': 'Alice',
      'Remote-Auth': 'session',
    });
  });

  it('says how the request was authenticated in Remote-Auth', () => {
    const alice = { user: 'alice', role: 'admin', groups: [], email: '', name: '', via: 'local' };
    expect(Object.fromEntries(identityHeaders(alice, names, 'token'))['Remote-Auth']).toBe('token');
    expect(Object.fromEntries(identityHeaders(alice, names, 'basic'))['Remote-Auth']).toBe('basic');
  });

  it('uses the configured header names', () => {
    const custom = { ...names, user: 'X-Auth-User' };
    expect(identityHeaders(undefined, custom)[0]).toEqual(['X-Auth-User', '']);
  });

  it('drops commas inside a group name so the list cannot be forged', () => {
    const headers = Object.fromEntries(identityHeaders({ user: 'a', role: 'r', groups: ['x,admins', ''], email: '', name: '', via: 'local' }, names));
    expect(headers['Remote-Groups']).toBe('xadmins');
  });
});

describe('headerValue', () => {
  it.each([
    ['plain', 'plain'],
    ['Zoë', 'Zo%C3%AB'],
    ['a\r\nSet-Cookie: x', 'aSet-Cookie: x'],
    ['tab\there', 'tabhere'],
    ['100%', '100%25'],
    ['  padded ', 'padded'],
    ['line\u2028sep', 'linesep'],
  ])('%j → %j (printable ASCII only, no CR/LF)', (input, expected) => {
    expect(headerValue(input)).toBe(expected);
  });
});

describe('createIdentityHeaderBlock', () => {
  const alice = { user: 'alice', role: 'admin', groups: ['family', 'admins'], email: 'alice@example.com', name: 'Zoë', via: 'local' };

  it('lists the six headers flat, name then value, for writeHead', () => {
    const block = createIdentityHeaderBlock(names);
    expect(block(alice)).toEqual(['Remote-User', 'alice', 'Remote-Role', 'admin', 'Remote-Groups', 'family,admins', 'Remote-Email', 'alice@example.com', 'Remote-Name', 'Zo%C3%AB', 'Remote-Auth', 'session']);
    expect(block(undefined)).toEqual(['Remote-User', '', 'Remote-Role', '', 'Remote-Groups', '', 'Remote-Email', '', 'Remote-Name', '', 'Remote-Auth', '']);
    expect(block(alice, 'token').slice(-2)).toEqual(['Remote-Auth', 'token']);
    expect(block(alice, 'token')).toBe(block(alice, 'token'));
  });

  it('puts the fixed headers of every reply in front', () => {
    const block = createIdentityHeaderBlock(names, ['Cache-Control', 'no-store']);
    expect(block(undefined).slice(0, 4)).toEqual(['Cache-Control', 'no-store', 'Remote-User', '']);
    expect(block(alice).slice(0, 4)).toEqual(['Cache-Control', 'no-store', 'Remote-User', 'alice']);
  });

  it('builds the block once per identity object, and anew for a changed identity', () => {
    const block = createIdentityHeaderBlock(names);
    expect(block(alice)).toBe(block(alice));
    expect(block({ ...alice, role: 'user' })).toContain('user');
    expect(block({ ...alice, role: 'user' })).not.toBe(block(alice));
  });

  it('sends an identity whose every field carries CR/LF as plain header lines: nothing is injected on the wire', async () => {
    const forged = { user: 'eve\r\nSet-Cookie: s=1', role: 'user\r\n', groups: ['a\r\nX-Injected: 1'], email: 'e@x\nLocation: /', name: 'Eve\r', via: 'local' as const };
    const block = createIdentityHeaderBlock(names, ['Cache-Control', 'no-store', 'Content-Length', '0']);
    // As verify replies: the block as it is, through writeHead's flat-list form.
    // node:http refuses CR/LF in a value (it throws): answered 500 here, so the status shows it.
    const server = http.createServer((_req, res) => {
      try {
        res.writeHead(200, block(forged) as string[]);
      } catch {
        res.writeHead(500);
      }
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const { status, headers } = await new Promise<{ status?: number; headers: http.IncomingHttpHeaders }>((resolve, reject) => {
        http.get({ host: '127.0.0.1', port, path: '/' }, (res) => resolve({ status: res.statusCode, headers: res.headers })).on('error', reject);
      });
      expect(status).toBe(200);
      expect(headers).toMatchObject({ 'remote-user': 'eveSet-Cookie: s=1', 'remote-role': 'user', 'remote-groups': 'aX-Injected: 1', 'remote-email': 'e@xLocation: /', 'remote-name': 'Eve' });
      expect(headers['set-cookie']).toBeUndefined();
      expect(headers['x-injected']).toBeUndefined();
      expect(headers.location).toBeUndefined();
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
