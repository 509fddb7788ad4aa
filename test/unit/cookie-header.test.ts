import Cookies from 'cookies';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { createCookieReader } from '../../src/http/cookie-header.js';

/** What koa's ctx.cookies.get(name) answers for the same header: the reader must never disagree with it. */
function viaCookiesPackage(header: string | undefined, name: string): string | undefined {
  const req = { headers: header === undefined ? {} : { cookie: header } } as unknown as IncomingMessage;
  return new Cookies(req, {} as ServerResponse).get(name);
}

describe('createCookieReader', () => {
  it.each([
    [undefined],
    [''],
    ['postern_session=abc'],
    ['a=1; postern_session=abc; b=2'],
    ['a=1;postern_session=abc'],
    ['x_postern_session=evil; postern_session=abc'],
    ['postern_session=first; postern_session=second'],
    ['postern_session="quoted"'],
    ['postern_session='],
    ['postern_session_csrf=t'],
    ['a=1;   postern_session=spaced'],
  ])('reads %j as koa does', (header) => {
    expect(createCookieReader('postern_session')(header)).toBe(viaCookiesPackage(header, 'postern_session'));
  });

  it('reads the first of two cookies of one name, and not a cookie whose name merely ends the same', () => {
    const read = createCookieReader('postern_session');
    expect(read('x_postern_session=evil; postern_session=abc; postern_session=later')).toBe('abc');
    expect(read('x_postern_session=evil')).toBeUndefined();
  });

  it('escapes a cookie name that holds regular-expression characters', () => {
    expect(createCookieReader('a.b')('axb=1; a.b=2')).toBe('2');
  });
});
