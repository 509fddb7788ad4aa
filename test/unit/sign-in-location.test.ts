import { describe, expect, it } from 'vitest';
import { signInLocation } from '../../src/auth/sign-in-location.js';

const rdOf = (location: string) => new URL(location).searchParams.get('rd');

describe('signInLocation: where verify sends a visitor who must sign in', () => {
  it.each([
    // public_url https: an http destination becomes its https form (it would be refused after sign-in otherwise)
    ['https://auth.example.com/login', 'http', 'photos.example.com', '/album/7?x=1&y=%20', 'https://photos.example.com/album/7?x=1&y=%20'],
    ['https://auth.example.com/login', 'http', 'photos.example.com:80', '/', 'https://photos.example.com/'],
    ['https://auth.example.com/login', 'http', 'photos.example.com:8080', '/a', 'https://photos.example.com:8080/a'],
    ['https://auth.example.com/login', 'https', 'photos.example.com', '/a', 'https://photos.example.com/a'],
    // public_url http: nothing is upgraded (a plain-http lab set-up stays plain http)
    ['http://auth.example.com/login', 'http', 'photos.example.com', '/a', 'http://photos.example.com/a'],
    ['http://auth.example.com/login', 'https', 'photos.example.com', '/a', 'https://photos.example.com/a'],
  ] as const)('%s, %s://%s%s → rd %s', (loginUrl, proto, host, uri, rd) => {
    const location = signInLocation(loginUrl, { proto, host, uri });
    expect(location.startsWith(`${loginUrl}?rd=`)).toBe(true);
    expect(rdOf(location)).toBe(rd);
  });
});
