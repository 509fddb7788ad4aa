import { chromium, type Browser } from 'playwright-core';

/**
 * The installed Chromium, headless, quiet (no background traffic), where only the test's hosts
 * resolve: `hostRules` maps them (`MAP *.example.com 127.0.0.1:PORT`), everything else is NOTFOUND.
 */
export function launchChromium(hostRules: string): Promise<Browser> {
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
      `--host-resolver-rules=${hostRules}, MAP * ~NOTFOUND`,
    ],
  });
}
