/**
 * Path patterns of access rules, compiled once at start-up into matchers over CANONICAL paths
 * (see target.ts): the pattern is matched against the path after dot segments are resolved,
 * unreserved escapes decoded and other escapes upper-cased.
 *
 * Glob: `*` is any run of characters except `/`; `**` is any run including `/`; a pattern ending
 * in `/**` also matches the directory itself (`/share/**` matches `/share`, `/share/` and
 * `/share/x/y`, never `/sharex`); `/**` in the middle matches one or more whole segments or none
 * (`/a/**\/b` matches `/a/b` and `/a/x/y/b`). Everything else is literal and case-sensitive. The
 * literal parts are canonicalised like a request path, so `/caf%65` and `/cafe` are one pattern.
 *
 * `regex:<re>`: a JavaScript regular expression anchored as `^(?:<re>)$`, so
 * `regex:/api/v[0-9]+/.*` does not match `/x/api/v1/`. It sees the canonical path.
 */

import { canonicalisePath } from './target.js';

export interface PathMatcher {
  /** The pattern as written in the configuration. */
  readonly source: string;
  readonly kind: 'exact' | 'prefix' | 'glob' | 'regex';
  /** For `exact`, the path; for `prefix`, the directory (`/share` for `/share/**`, `` for `/**`). */
  readonly literal: string | undefined;
  matches(path: string): boolean;
}

export type CompiledPattern = { ok: true; matcher: PathMatcher } | { ok: false; problem: string };

const REGEX_PREFIX = 'regex:';

export function compilePathPattern(source: string): CompiledPattern {
  if (source.startsWith(REGEX_PREFIX)) return compileRegex(source);
  return compileGlob(source);
}

function compileRegex(source: string): CompiledPattern {
  const body = source.slice(REGEX_PREFIX.length);
  if (body === '') return { ok: false, problem: 'is an empty regular expression' };
  let re: RegExp;
  try {
    re = new RegExp(`^(?:${body})$`);
  } catch (error) {
    return { ok: false, problem: `is not a valid regular expression: ${(error as Error).message}` };
  }
  return { ok: true, matcher: { source, kind: 'regex', literal: undefined, matches: (path) => re.test(path) } };
}

function compileGlob(source: string): CompiledPattern {
  if (!source.startsWith('/')) {
    return { ok: false, problem: `must start with '/' (or be 'regex:…'), but it's configured as '${source}'` };
  }
  if (source.includes('?') || source.includes('#')) {
    return { ok: false, problem: `contains '?' or '#', but queries and fragments are never matched (use 'regex:' for a one-character wildcard)` };
  }
  if (source.includes('***')) return { ok: false, problem: `contains '***'; use '*' or '**'` };
  // The pattern must already be in canonical form as far as structure goes: a pattern with `//`,
  // `.` or `..` segments could never match a canonical path.
  const segments = source.split('/');
  for (let i = 1; i < segments.length; i++) {
    const seg = segments[i];
    if ((seg === '' && i !== segments.length - 1) || seg === '.' || seg === '..') {
      return { ok: false, problem: `contains an empty, '.' or '..' segment and can never match a canonical path` };
    }
  }
  const canonical = canonicalisePath(source);
  if (!canonical.ok) {
    return { ok: false, problem: `is not a valid path pattern (encoded '/', '\\', NUL, control character or invalid '%' escape)` };
  }
  const pattern = canonical.value;

  const firstStar = pattern.indexOf('*');
  if (firstStar < 0) {
    return { ok: true, matcher: { source, kind: 'exact', literal: pattern, matches: (path) => path === pattern } };
  }
  if (pattern.endsWith('/**') && firstStar === pattern.length - 2) {
    const dir = pattern.slice(0, -3);
    const withSlash = dir + '/';
    return {
      ok: true,
      matcher: { source, kind: 'prefix', literal: dir, matches: (path) => path === dir || path.startsWith(withSlash) },
    };
  }
  const re = new RegExp(`^${globToRegexBody(pattern)}$`);
  return { ok: true, matcher: { source, kind: 'glob', literal: undefined, matches: (path) => re.test(path) } };
}

function globToRegexBody(pattern: string): string {
  let out = '';
  let i = 0;
  while (i < pattern.length) {
    const ch = pattern[i] as string;
    if (ch === '/' && pattern.startsWith('/**', i) && (i + 3 === pattern.length || pattern[i + 3] === '/')) {
      if (i + 3 === pattern.length) {
        out += '(?:/.*)?'; // trailing `/**`: the directory itself or anything below it
        i += 3;
      } else {
        out += '/(?:.*/)?'; // `/**/`: zero or more whole segments
        i += 4;
      }
      continue;
    }
    if (ch === '*') {
      if (pattern[i + 1] === '*') {
        out += '.*';
        i += 2;
      } else {
        out += '[^/]*';
        i += 1;
      }
      continue;
    }
    out += ch.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    i += 1;
  }
  return out;
}

/** True when every path `narrow` matches is certainly also matched by `broad` (for shadow warnings). */
export function patternCovers(broad: PathMatcher, narrow: PathMatcher): boolean {
  if (broad.source === narrow.source) return true;
  if (broad.kind === 'prefix') {
    const dir = broad.literal as string;
    if (dir === '') return true; // `/**`
    if (narrow.kind === 'regex') return false;
    if (narrow.kind === 'prefix' || narrow.kind === 'exact') {
      const lit = narrow.literal as string;
      return lit === dir || lit.startsWith(dir + '/');
    }
    // A glob whose literal text starts with `dir/` only ever matches paths below `dir`.
    const canonical = canonicalisePath(narrow.source);
    return canonical.ok && canonical.value.startsWith(dir + '/');
  }
  if (narrow.kind === 'exact') return broad.matches(narrow.literal as string);
  return false;
}
