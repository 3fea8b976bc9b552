import { type Browser, chromium } from 'playwright-core';

/**
 * Debian's Chromium (`/usr/bin/chromium`; nothing is downloaded), headless, as
 * root, with the background services off (this machine has no network but
 * loopback, and they would keep trying). `extraArgs` add to these.
 */
export function launchChromium(extraArgs: readonly string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      ...extraArgs,
    ],
  });
}
