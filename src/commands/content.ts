import { UsageError, type Command } from './command.ts';
import { loadContent } from '../content/loader.ts';
import { kindWeekdays } from '../editions/edition-for.ts';
import { contentDir, contentOption, parse } from './args.ts';

/** `content check`: validates all content and prints one line per problem. */
export const contentCommand: Command = async (ctx) => {
  const { values, positionals } = parse(ctx.args, contentOption);
  if (positionals[0] !== 'check' || positionals.length > 1) throw new UsageError('expected: content check');
  const config = ctx.config();
  const dir = contentDir(values, config);
  const { content, problems } = await loadContent(dir, { weekdays: kindWeekdays(config) });
  if (problems.length > 0) {
    for (const line of problems) ctx.stdout.write(`${line}\n`);
    ctx.stderr.write(`${problems.length} problem${problems.length === 1 ? '' : 's'} in ${dir}\n`);
    return 1;
  }
  const editions = content.editions.length > 0 ? `, ${content.editions.length} edition ${content.editions.length === 1 ? 'file' : 'files'}` : '';
  ctx.stdout.write(`ok: ${content.news.length} news ${content.news.length === 1 ? 'item' : 'items'} and ${content.guides.length} ${content.guides.length === 1 ? 'guide' : 'guides'}${editions} in ${dir} are valid\n`);
  return 0;
};
