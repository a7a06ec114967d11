/** At most `size` tasks at once. Waiting is polled so the caller can give up (rebalance, shutdown). */
export class SlotPool {
  private used = 0;
  private readonly waiters = new Set<() => void>();

  constructor(readonly size: number) {}

  get free(): number {
    return this.size - this.used;
  }

  /** true once a slot is held; false if `stillWanted` said no while waiting. */
  async acquire(stillWanted: () => Promise<boolean>, pollMs = 1000): Promise<boolean> {
    while (this.used >= this.size) {
      if (!(await stillWanted())) return false;
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          this.waiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, pollMs);
        this.waiters.add(wake);
      });
    }
    this.used++;
    return true;
  }

  release(): void {
    this.used = Math.max(0, this.used - 1);
    const [first] = this.waiters;
    first?.();
  }
}
