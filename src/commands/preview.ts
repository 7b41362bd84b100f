import type { Command } from '../cli.ts';

/** Placeholder until this command is built. */
export const previewCommand: Command = async (ctx) => {
  ctx.stderr.write('almanac preview: not available yet\n');
  return 1;
};
