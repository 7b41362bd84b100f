import type { Command } from '../cli.ts';

/** Placeholder until this command is built. */
export const scheduleCommand: Command = async (ctx) => {
  ctx.stderr.write('almanac schedule: not available yet\n');
  return 1;
};
