import type { Command } from '../cli.ts';

/** Placeholder until this command is built. */
export const reportCommand: Command = async (ctx) => {
  ctx.stderr.write('almanac report: not available yet\n');
  return 1;
};
