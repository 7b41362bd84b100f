import type { Command } from './command.ts';
import { KIND_NAMES } from '../editions/calendar.ts';
import type { Edition } from '../editions/compose.ts';
import { editionJson } from '../editions/edition-json.ts';
import { composeEdition } from '../editions/edition-for.ts';
import { formatLocal } from '../editions/time.ts';
import { UsageError } from './command.ts';
import { contentDir, contentOption, editionArg, editionOptions, kindArg, parse } from './args.ts';

/** `compose <kind>`: prints the edition as an outline, or as the DESIGN.md JSON object. */
export const composeCommand: Command = async (ctx) => {
  const { values, positionals } = parse(ctx.args, {
    ...contentOption,
    ...editionOptions,
    json: { type: 'boolean' },
  });
  if (positionals.length > 1) throw new UsageError(`unexpected argument '${positionals[1]}'`);
  const kind = kindArg(positionals[0]);
  const config = ctx.config();
  const { edition } = await composeEdition(kind, editionArg(values), config, contentDir(values, config), ctx.now());
  if (values.json) {
    ctx.stdout.write(`${JSON.stringify(editionJson(edition))}\n`);
  } else {
    ctx.stdout.write(outline(edition, config.timezone));
  }
  return 0;
};

/** A readable outline of an edition for the terminal. */
export function outline(edition: Edition, timeZone: string): string {
  const lines = [
    `${edition.id}  ${KIND_NAMES[edition.kind]} No. ${edition.number}`,
    `send at   ${formatLocal(edition.sendAt, timeZone)} (${edition.sendAt.toISOString()})`,
    `window    ${edition.window.from.toISOString()} < published <= ${edition.window.to.toISOString()}`,
    `subject   ${edition.subject}`,
    `preheader ${edition.preheader}`,
    '',
  ];
  if (edition.empty) {
    lines.push('This edition is empty: no news was published in its window. It will not be sent unless forced.', '');
  } else {
    lines.push(`News (${edition.news.length}):`);
    edition.news.forEach((n, i) => {
      lines.push(`  ${String(i + 1).padStart(2)}. [${n.score}] ${n.title}`, `      ${n.source} · ${n.published.toISOString()} · ${n.url}`);
    });
    lines.push('');
  }
  lines.push(`Guides (${edition.guides.length}):`);
  for (const g of edition.guides) {
    lines.push(`  - ${g.guide.title} (${g.guide.slug})`);
    lines.push(g.related.length > 0 ? `      more on it: ${g.related.map((n) => n.title).join(' | ')}` : '      (no paired news: most recently updated guide)');
  }
  return `${lines.join('\n')}\n`;
};
