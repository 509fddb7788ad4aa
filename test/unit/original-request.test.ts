import { describe, expect, it } from 'vitest';
import { readOriginalRequest } from '../../src/http/original-request.js';

describe('readOriginalRequest', () => {
  it('reads X-Original-URL and X-Original-Method for nginx', () => {
    expect(readOriginalRequest('nginx', { 'x-original-url': 'https://photos.example.com/a/b?x=1', 'x-original-method': 'post' })).toEqual({
      proto: 'https',
      host: 'photos.example.com',
      uri: '/a/b?x=1',
      method: 'POST',
      url: 'https://photos.example.com/a/b?x=1',
    });
  });

  it('keeps the raw path (dot-segments are judged later, by the access rules)', () => {
    expect(readOriginalRequest('nginx', { 'x-original-url': 'https://h.example.com/share/%2e%2e/admin' })?.uri).toBe('/share/%2e%2e/admin');
  });

  it('falls back to X-Forwarded-* for nginx when X-Original-URL is absent', () => {
    const r = readOriginalRequest('nginx', { 'x-forwarded-proto': 'http', 'x-forwarded-host': 'app.example.com:8080', 'x-forwarded-uri': '/' });
    expect(r?.url).toBe('http://app.example.com:8080/');
    expect(r?.method).toBe('GET');
  });

  it('ignores a client-sent X-Original-URL for Caddy and Traefik, which pass it through untouched', () => {
    const r = readOriginalRequest('caddy', {
      'x-original-url': 'https://share.example.com/share/x',
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'admin.example.com',
      'x-forwarded-uri': '/settings',
      'x-forwarded-method': 'DELETE',
    });
    expect(r).toMatchObject({ host: 'admin.example.com', uri: '/settings', method: 'DELETE' });
  });

  it('uses the first X-Forwarded-Host and -Proto of a list', () => {
    const r = readOriginalRequest('traefik', { 'x-forwarded-proto': 'https, http', 'x-forwarded-host': 'a.example.com, b.example.com', 'x-forwarded-uri': '/x' });
    expect(r?.url).toBe('https://a.example.com/x');
  });

  it.each([
    ['ws', 'http'],
    ['wss', 'https'],
    ['WSS', 'https'],
    ['http', 'http'],
    ['https', 'https'],
  ])('reads X-Forwarded-Proto %s (Traefik says ws/wss for a WebSocket upgrade) as %s', (sent, proto) => {
    const r = readOriginalRequest('traefik', { 'x-forwarded-proto': sent, 'x-forwarded-host': 'nvr.example.com', 'x-forwarded-uri': '/ws' });
    expect(r).toMatchObject({ proto, url: `${proto}://nvr.example.com/ws` });
  });

  it.each([
    [{ 'x-original-url': 'ws://h.example.com/' }],
    [{ 'x-forwarded-proto': 'wsx', 'x-forwarded-host': 'h.example.com', 'x-forwarded-uri': '/' }],
    [{ 'x-original-url': '/relative' }],
    [{ 'x-original-url': 'ftp://h.example.com/' }],
    [{ 'x-original-url': 'https://h.example.com/a b' }],
    [{ 'x-original-url': 'https://h.example.com/\r\nx' }],
    [{ 'x-original-url': 'https://h.example.com/', 'x-original-method': 'G E T' }],
    [{ 'x-forwarded-proto': 'gopher', 'x-forwarded-host': 'h.example.com', 'x-forwarded-uri': '/' }],
    [{ 'x-forwarded-proto': 'https', 'x-forwarded-host': 'h.example.com/evil', 'x-forwarded-uri': '/' }],
    [{ 'x-forwarded-proto': 'https', 'x-forwarded-host': 'h.example.com', 'x-forwarded-uri': 'no-slash' }],
    [{ 'x-forwarded-proto': 'https', 'x-forwarded-host': 'h.example.com' }],
    [{}],
  ])('gives undefined for an unusable description %j', (headers) => {
    expect(readOriginalRequest('nginx', headers)).toBeUndefined();
  });
});
