import type { Config } from '../config.ts';

/** What a command gets: its arguments and a lazily loaded config. */
export interface CommandContext {
  args: string[];
  config: () => Config;
  /** Now, for picking the next or latest edition (the real clock; tests may set it: config.ts commandClock). */
  now: () => Date;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
}

/** One `almanac` command: resolves to its exit code. */
export type Command = (ctx: CommandContext) => Promise<number>;

/** Thrown for wrong usage; printed as one line with the usage hint, exit 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}
