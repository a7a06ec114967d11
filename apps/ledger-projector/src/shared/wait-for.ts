/** Polls until the condition holds or the time is up; returns whether it held. */
export async function waitFor(cond: () => Promise<boolean>, timeoutMs: number, everyMs = 50): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return true;
    if (Date.now() >= until) return false;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
