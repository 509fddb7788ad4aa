/**
 * The Chromium the e2e tests drive (playwright-core over the system's /usr/bin/chromium), headless,
 * with nothing of its own reaching the network: `hostRules` maps the test hosts to the server under
 * test, and every other name fails to resolve.
 */
import { chromium, type Browser } from 'playwright-core';

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
