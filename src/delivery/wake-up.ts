/**
 * The send loop's alarm clock: the loop sleeps until something happens (a reply arrived, the run
 * must stop) or a timer runs out (a retry is due, a pause is over, a rate slot is free).
 * Wake-ups are scheduled with setImmediate so replies that arrive in the same I/O turn share one
 * ledger commit.
 */
export class WakeUp {
  private wake: (() => void) | undefined;
  private scheduled = false;

  /** Something happened: wake the loop (once per I/O turn). */
  readonly notify = (): void => {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      const w = this.wake;
      this.wake = undefined;
      w?.();
    });
  };

  /** Resolves at the next notify, or after `timerMs` (never, when undefined). */
  next(timerMs: number | undefined): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer =
        timerMs === undefined
          ? undefined
          : setTimeout(() => {
              this.wake = undefined;
              resolve();
            }, Math.max(1, timerMs));
      this.wake = () => {
        if (timer) clearTimeout(timer);
        resolve();
      };
    });
  }
}
