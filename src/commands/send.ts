import type { Command } from '../cli.ts';

/** Placeholder until this command is built. */
export const sendCommand: Command = async (ctx) => {
  ctx.stderr.write('almanac send: not available yet\n');
  return 1;
};
