/**
 * Headless Chromium (Debian's package) driven by playwright-core, for the console tests.
 * The flags keep Chromium off the network: no first-run, sync, component updates, QUIC or
 * background requests; each browser gets a fresh profile directory it deletes on close.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const ARTEFACTS = join(process.cwd(), 'test-artefacts', 'console');

export interface TestBrowser {
  context: BrowserContext;
  page: Page;
  /** Saves a full-page PNG under test-artefacts/console/<name>.png and returns its path. */
  screenshot(name: string): Promise<string>;
  close(): Promise<void>;
}

export async function startBrowser(): Promise<TestBrowser> {
  const profile = mkdtempSync(join(tmpdir(), `openslb-console-chromium-${process.pid}-`));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1360, height: 900 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  mkdirSync(ARTEFACTS, { recursive: true });
  return {
    context,
    page,
    screenshot: async (name) => {
      const path = join(ARTEFACTS, `${name}.png`);
      await page.screenshot({ path, fullPage: true });
      return path;
    },
    close: async () => {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
