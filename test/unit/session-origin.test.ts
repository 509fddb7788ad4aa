import { describe, expect, it } from 'vitest';
import { MAX_AGENT_CHARS, shortUserAgent } from '../../src/http/session-origin.js';

describe('shortUserAgent: what `postern sessions list` shows in AGENT', () => {
  it.each([
    ['Chrome on Windows', 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36', 'Chrome 120 on Windows'],
    ['Edge (also says Chrome)', 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91', 'Edge 120 on Windows'],
    ['Opera (also says Chrome)', 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36 OPR/105.0.0.0', 'Opera 105 on Windows'],
    ['Firefox on Linux', 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0', 'Firefox 128 on Linux'],
    ['Chrome on Android (also says Linux)', 'Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36', 'Chrome 120 on Android'],
    ['Safari on iPhone (also says Mac OS X)', 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1', 'Safari 17 on iOS'],
    ['Safari on a Mac', 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15', 'Safari 17 on macOS'],
    ['headless Chromium', 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36', 'Chrome 131 on Linux'],
    ['a tool: its first product token', 'curl/8.5.0', 'curl/8.5.0'],
    ['a tool with comments', 'python-requests/2.31.0 (extra words)', 'python-requests/2.31.0'],
    ['control characters become ?', 'evil\u001b[2Jtool/1.0', 'evil?[2Jtool/1.0'],
    ['non-ASCII becomes ?', 'Navigatör/1.0', 'Navigat?r/1.0'],
    ['nothing sent', undefined, ''],
    ['an empty header', '', ''],
  ])('%s', (_what, header, expected) => {
    expect(shortUserAgent(header)).toBe(expected);
  });

  it(`keeps at most ${MAX_AGENT_CHARS} characters of anything`, () => {
    expect(shortUserAgent('x'.repeat(10_000))).toBe('x'.repeat(MAX_AGENT_CHARS));
    expect(shortUserAgent(`Mozilla/5.0 (Windows NT 10.0) Chrome/${'9'.repeat(100)}`)).toHaveLength(MAX_AGENT_CHARS);
  });
});
