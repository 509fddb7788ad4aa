import { describe, expect, it } from 'vitest';
import { headerValue, identityHeaders, MAX_GROUPS_LINE, MAX_HEADER_VALUE } from '../../src/auth/identity-headers.js';

const NAMES = { user: 'Remote-User', role: 'Remote-Role', groups: 'Remote-Groups', email: 'Remote-Email', name: 'Remote-Name', auth: 'Remote-Auth' };

describe('identity header values that no header can carry as they are', () => {
  it.each([
    ['a lone high surrogate', 'a\uD800b', 'a%EF%BF%BDb'],
    ['a lone low surrogate', '\uDC00x', '%EF%BF%BDx'],
    ['a reversed pair', '\uDE00\uD83D', '%EF%BF%BD%EF%BF%BD'],
    ['a proper pair (emoji)', '\uD83D\uDE00', '%F0%9F%98%80'],
    ['control characters', 'a\u0000b\nc\u0085d', 'abcd'],
    ['exactly the limit', 'x'.repeat(MAX_HEADER_VALUE), 'x'.repeat(MAX_HEADER_VALUE)],
    ['one past the limit: left out, never cut', 'x'.repeat(MAX_HEADER_VALUE + 1), ''],
    ['10 000 characters', 'x'.repeat(10_000), ''],
    ['past the limit once encoded', 'é'.repeat(MAX_HEADER_VALUE / 6 + 1), ''],
  ])('%s', (_name, value, sent) => {
    expect(headerValue(value)).toBe(sent);
  });

  it('keeps whole groups, in order, while the groups line fits, and leaves out a group too long on its own', () => {
    const group = (i: number) => `group-${String(i).padStart(3, '0')}-${'g'.repeat(40)}`;
    const groups = ['x'.repeat(10_000), ...Array.from({ length: 40 }, (_, i) => group(i))];
    const line = identityHeaders({ user: 'u', role: 'r', groups, email: '', name: '', via: 'local' }, NAMES).find(([name]) => name === 'Remote-Groups')![1];
    expect(line.length).toBeLessThanOrEqual(MAX_GROUPS_LINE);
    const sent = line.split(',');
    expect(sent).toEqual(groups.slice(1, 1 + sent.length));
    expect(sent.length).toBe(Math.floor((MAX_GROUPS_LINE + 1) / (group(0).length + 1)));
  });
});
