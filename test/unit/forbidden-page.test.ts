import { describe, expect, it } from 'vitest';
import { FORBID_REASONS } from '../../src/access/decide.js';
import { forbiddenPage, reasonInWords } from '../../src/views/forbidden-page.js';

const DEFAULT_WORDS = 'could be read two ways';

describe('reasonInWords: every decision reason has its own words', () => {
  it.each(Object.entries(FORBID_REASONS))('%s (%s)', (_key, reason) => {
    const words = reasonInWords(reason, 'nvr.example.com', 'POST', 'viewer').value;
    expect(words).not.toContain(DEFAULT_WORDS);
    expect(words).not.toContain(reason);
  });

  it.each(['ambiguous path', 'invalid host', 'invalid method'])('a refused target (%s) says the address could be read two ways', (reason) => {
    expect(reasonInWords(reason, 'app.example.com', 'GET', undefined).value).toContain(DEFAULT_WORDS);
  });

  it('escapes the host and method it is given', () => {
    expect(reasonInWords(FORBID_REASONS.viewerWrite, '<b>x', '"P', 'viewer').value).toContain('&lt;b&gt;x');
  });
});

describe('forbiddenPage', () => {
  const base = { host: 'admin.example.com', method: 'GET', reason: FORBID_REASONS.notInSubjects, homeUrl: 'https://auth.example.com/' };

  it('for a signed-in user: who, why, the switch-user form with its token and rd, and the way home', () => {
    const page = forbiddenPage({ ...base, user: { user: 'bob', name: '', role: 'user' }, switchUser: { action: 'https://auth.example.com/forbidden', csrf: 'tok', rd: 'https://admin.example.com/' } });
    expect(page).toContain('<title>Not allowed</title>');
    expect(page).toContain('You are signed in as <strong>bob</strong>, role <strong>user</strong>.');
    expect(page).toContain('<form method="post" action="https://auth.example.com/forbidden">');
    expect(page).toContain('<input type="hidden" name="csrf" value="tok">');
    expect(page).toContain('<input type="hidden" name="rd" value="https://admin.example.com/">');
    expect(page).toContain('<a href="https://auth.example.com/">');
  });

  it('for an anonymous visitor: no form, only the way home', () => {
    const page = forbiddenPage({ ...base, reason: FORBID_REASONS.denied, user: undefined });
    expect(page).toContain('You are not signed in.');
    expect(page).not.toContain('<form');
    expect(page).toContain('<a href="https://auth.example.com/">');
  });
});
