import { accessSync, constants } from 'node:fs';

import { chromium, type Browser } from 'playwright-core';

/** Where a Chromium for the browser tests comes from. */
export interface FoundBrowser {
  executablePath: string;
  source: 'CHROMIUM_PATH' | 'system' | '@sparticuz/chromium';
}

/** System Chromium builds, in the order tried. */
const SYSTEM_CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome', '/usr/bin/google-chrome-stable'];

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Finds a Chromium: `CHROMIUM_PATH` when set; else a system Chromium (unless
 * `XRAYJS_IGNORE_SYSTEM_CHROMIUM=1`, which CI sets to prove the fallback); else the one the registry
 * package `@sparticuz/chromium` ships inside itself (a dev dependency, so `npm ci` brings it; it is
 * unpacked into the temporary directory on first use, for root or any user, without apt).
 */
export async function findChromium(): Promise<FoundBrowser> {
  const configured = process.env.CHROMIUM_PATH;
  if (configured) return { executablePath: configured, source: 'CHROMIUM_PATH' };
  if (process.env.XRAYJS_IGNORE_SYSTEM_CHROMIUM !== '1') {
    const system = SYSTEM_CANDIDATES.find(executable);
    if (system) return { executablePath: system, source: 'system' };
  }
  const shipped = (await import('@sparticuz/chromium')) as unknown as { default: { executablePath(): Promise<string> } };
  return { executablePath: await shipped.default.executablePath(), source: '@sparticuz/chromium' };
}

/** Flags for a headless run on a machine with a closed network (no background connections, no GPU). */
const ARGS = ['--no-sandbox', '--no-zygote', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Launches headless Chromium through playwright-core, with `extraArgs` (say `--host-resolver-rules=...`). */
export async function launchChromium(extraArgs: string[] = []): Promise<{ browser: Browser; found: FoundBrowser }> {
  const found = await findChromium();
  const browser = await chromium.launch({ executablePath: found.executablePath, headless: true, args: [...ARGS, ...extraArgs] });
  return { browser, found };
}
