/**
 * A lease's heartbeat: calls `beat` every `intervalMs`, skipping a beat while the previous one still
 * runs, so a slow database never stacks renewals. A beat that fails is retried at the next one: a
 * lease is lost only when another owner took it, which `beat` itself finds out and reports. The timer
 * never keeps the process alive on its own.
 */
export class Heartbeat {
  private timer: NodeJS.Timeout | undefined;

  start(beat: () => Promise<void>, intervalMs: number): void {
    this.stop();
    let busy = false;
    this.timer = setInterval(() => {
      if (busy) return;
      busy = true;
      beat()
        .catch(() => undefined)
        .finally(() => {
          busy = false;
        });
    }, intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  get running(): boolean {
    return this.timer !== undefined;
  }
}
