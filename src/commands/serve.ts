import type { Command } from '../cli.ts';

/** Placeholder until this command is built. */
export const serveCommand: Command = async (ctx) => {
  ctx.stderr.write('almanac serve: not available yet\n');
  return 1;
};
