/** Waiting for something a test cannot be told about directly: polls a check, bounded by attempts. */
export async function until(what: string, check: () => boolean | Promise<boolean>, attempts = 1000, pauseMs = 10): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, pauseMs));
  }
  throw new Error(`gave up waiting: ${what}`);
}
