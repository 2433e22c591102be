/**
 * Debian's Chromium (/usr/bin/chromium, installed by `scripts/testbed up`) driven by playwright-core.
 * Never `npx playwright install`: no browser is downloaded. CALLSCREEN_CHROMIUM overrides the path.
 *
 * The flags keep Chromium off the network (this machine's network is closed: without them Chromium
 * keeps trying Google's hosts) and let it run as root in a container (no sandbox, no GPU).
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { repoRoot } from './testbed';

export const CHROMIUM_PATH = process.env.CALLSCREEN_CHROMIUM ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Headless Chromium; fails with a clear message when the browser is not installed. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH))
    throw new Error(
      `no Chromium at ${CHROMIUM_PATH}: run \`sudo scripts/testbed up\` (installs Debian's chromium) or set CALLSCREEN_CHROMIUM`,
    );
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
}

/** test-output/<name> in the repository (git-ignored), the folder created when missing. */
export function testOutputPath(name: string): string {
  const dir = path.join(repoRoot, 'test-output');
  mkdirSync(dir, { recursive: true });
  return path.join(dir, name);
}
