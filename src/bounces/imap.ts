import { UsageError, type CommandContext } from '../cli.ts';

/** `bounces fetch`: reads unseen messages of ALMANAC_BOUNCE_IMAP_URL. */
export async function fetchCommand(ctx: CommandContext, _args: string[]): Promise<number> {
  if (!ctx.config().bounce.imapUrl) throw new UsageError('bounces fetch needs ALMANAC_BOUNCE_IMAP_URL');
  throw new Error('bounces fetch is not built yet');
}
