import type { Command } from '../cli.ts';

/** Placeholder until this command is built. */
export const startCommand: Command = async (ctx) => {
  ctx.stderr.write('almanac start: not available yet\n');
  return 1;
};
