import type { Context } from 'koa';

/** Where a session was opened from, recorded at sign-in for `postern sessions list`. */
export interface SessionOrigin {
  /** The client address, as the trusted-proxy walk resolved it (http/request-context.ts). */
  readonly ip: string;
  /** The user agent, shortened by shortUserAgent; absent when the browser sent none. */
  readonly ua?: string;
}

/** Longest agent text kept: the session is read on every verify and stored once per session. */
export const MAX_AGENT_CHARS = 40;

/** Browser families by their product token, most specific first (Edge and Opera also say Chrome, Chrome also says Safari). */
const BROWSERS: ReadonlyArray<readonly [RegExp, string]> = [
  [/\bEdg(?:e|A|iOS)?\/(\d+)/, 'Edge'],
  [/\bOPR\/(\d+)/, 'Opera'],
  [/\b(?:Firefox|FxiOS)\/(\d+)/, 'Firefox'],
  [/\b(?:HeadlessChrome|Chrome|CriOS)\/(\d+)/, 'Chrome'],
  [/\bVersion\/(\d+)[^ ]* (?:Mobile\/\S+ )?Safari\//, 'Safari'],
];

/** Operating systems by their platform words, most specific first (Android says Linux, iOS says "like Mac OS X"). */
const SYSTEMS: ReadonlyArray<readonly [RegExp, string]> = [
  [/Windows/, 'Windows'],
  [/Android/, 'Android'],
  [/iPhone|iPad|iPod/, 'iOS'],
  [/CrOS/, 'ChromeOS'],
  [/Mac OS X|Macintosh/, 'macOS'],
  [/Linux/, 'Linux'],
];

/**
 * A user agent in a few words a person can recognise: `Firefox 128 on Linux`, `Safari 17 on iOS`;
 * anything else is its first product token (`curl/8.5.0`). Printable ASCII only (the text ends up
 * in a terminal), at most MAX_AGENT_CHARS. A browser's full agent string starts with the same
 * 60 characters everywhere ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36"),
 * so cutting it short would say nothing.
 */
export function shortUserAgent(header: string | undefined): string {
  if (!header) return '';
  const text = header.slice(0, 1024);
  const browser = BROWSERS.find(([pattern]) => pattern.test(text));
  const system = SYSTEMS.find(([pattern]) => pattern.test(text))?.[1];
  let short: string;
  if (browser) {
    const version = browser[0].exec(text)![1];
    short = `${browser[1]} ${version}${system ? ` on ${system}` : ''}`;
  } else {
    short = text.trim().split(/\s+/)[0] ?? '';
  }
  return short.replace(/[^\x21-\x7e ]/g, '?').slice(0, MAX_AGENT_CHARS);
}

/** The fields a new session records about its browser: spread into the SessionData at sign-in. */
export function sessionOrigin(ctx: Context): SessionOrigin {
  const ua = shortUserAgent(ctx.get('user-agent'));
  return ua === '' ? { ip: ctx.state.facts.clientIp } : { ip: ctx.state.facts.clientIp, ua };
}
