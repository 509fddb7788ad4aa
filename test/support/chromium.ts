import { chromium, type Browser } from 'playwright-core';

/**
 * The system's headless Chromium, quiet (no updates, sync or background requests), with
 * `--host-resolver-rules` deciding where each test host goes, e.g.
 * `MAP *.example.com 127.0.0.1:PORT, MAP * ~NOTFOUND` (nothing else resolves at all).
 */
export function launchChromium(hostResolverRules: string): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      `--host-resolver-rules=${hostResolverRules}`,
    ],
  });
}
