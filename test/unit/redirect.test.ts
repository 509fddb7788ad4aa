import { describe, expect, it } from 'vitest';
import { validateRedirect } from '../../src/auth/redirect.js';
import { isWithinDomain } from '../../src/net/domain.js';

const https = { domain: 'example.com', allowHttp: false };
const http = { domain: 'example.com', allowHttp: true };

describe('validateRedirect', () => {
  it.each([
    ['https://photos.example.com/album/1?x=1#top', 'https://photos.example.com/album/1?x=1#top'],
    ['https://example.com', 'https://example.com/'],
    ['HTTPS://PHOTOS.EXAMPLE.COM/a', 'https://photos.example.com/a'],
    ['https://a.b.example.com:8443/x', 'https://a.b.example.com:8443/x'],
  ])('accepts %s on the protected domain and re-serialises it', (rd, expected) => {
    expect(validateRedirect(rd, https)).toBe(expected);
  });

  it.each([
    ['//evil.com', 'protocol-relative'],
    ['/\\evil.com', 'backslash trick'],
    ['/login', 'relative path'],
    ['https://example.com.evil.com/', 'suffix lookalike'],
    ['https://evil.com@example.com/', 'userinfo'],
    ['https://user:pass@photos.example.com/', 'credentials'],
    ['https://evil.com/?https://example.com', 'domain in query'],
    ['https://notexample.com/', 'suffix without a dot'],
    ['javascript:alert(1)//example.com', 'javascript scheme'],
    ['data:text/html,hi', 'data scheme'],
    ['https://photos.example.com/\r\nSet-Cookie: x=1', 'CR/LF'],
    ['https://photos.example.com/\u0000', 'NUL'],
    ['https://photos.example.com\\@evil.com/', 'backslash in authority'],
    ['  https://photos.example.com/', 'leading space'],
    ['https://photos.example.com/ x', 'space'],
    ['ftp://photos.example.com/', 'other scheme'],
    ['https:/photos.example.com/', 'one slash'],
    ['https://[::1]/', 'IP literal'],
    ['https://photos.example.com./', 'trailing-dot host (another name to the cookie jar)'],
    ['', 'empty'],
    ['https://' + 'a'.repeat(5000) + '.example.com/', 'too long'],
  ])('refuses %s (%s)', (rd) => {
    expect(validateRedirect(rd, https)).toBeUndefined();
    expect(validateRedirect(rd, http)).toBeUndefined();
  });

  it('refuses undefined', () => {
    expect(validateRedirect(undefined, https)).toBeUndefined();
  });

  it('accepts http: targets only when public_url is http', () => {
    expect(validateRedirect('http://photos.example.com/', https)).toBeUndefined();
    expect(validateRedirect('http://photos.example.com/', http)).toBe('http://photos.example.com/');
  });

  it('punycodes an IDN host and still checks the domain', () => {
    expect(validateRedirect('https://bücher.example.com/', https)).toBe('https://xn--bcher-kva.example.com/');
  });
});

describe('isWithinDomain', () => {
  it.each([
    ['example.com', true],
    ['a.example.com', true],
    ['a.b.example.com', true],
    ['badexample.com', false],
    ['example.com.evil', false],
    ['com', false],
  ])('%s → %s', (host, expected) => {
    expect(isWithinDomain(host, 'example.com')).toBe(expected);
  });
});
