import type { Command } from '../cli.ts';

/** Placeholder until this command is built. */
export const subscribersCommand: Command = async (ctx) => {
  ctx.stderr.write('almanac subscribers: not available yet\n');
  return 1;
};
