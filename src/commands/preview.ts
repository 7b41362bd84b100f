import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { UsageError, type Command } from './command.ts';
import { buildMessage, compileMessage, messageCommonFor, newMessageId } from '../delivery/mime.ts';
import { PRIVATE_DIR_MODE, writePrivateFile } from '../delivery/private-file.ts';
import { composeEdition } from '../editions/edition-for.ts';
import { preSendChecks } from '../render/checks.ts';
import { personalise, renderEdition } from '../render/render-edition.ts';
import { SAMPLE_RECIPIENT, sampleLinks } from '../render/sample-links.ts';
import { contentDir, contentOption, editionArg, editionOptions, kindArg, parse } from './args.ts';

/** `preview <kind>`: writes the edition as the sample subscriber would get it: `<id>.html`, `<id>.txt`, `<id>.eml`. */
export const previewCommand: Command = async (ctx) => {
  const { values, positionals } = parse(ctx.args, {
    ...contentOption,
    ...editionOptions,
    out: { type: 'string' },
    force: { type: 'boolean' },
  });
  if (positionals.length > 1) throw new UsageError(`unexpected argument '${positionals[1]}'`);
  const kind = kindArg(positionals[0]);
  const config = ctx.config();
  const force = values.force === true;
  const outDir = resolve(typeof values.out === 'string' ? values.out : './preview');
  const { edition } = await composeEdition(kind, editionArg(values), config, contentDir(values, config), ctx.now());

  if (edition.empty) {
    const window = `${edition.window.from.toISOString()} < published <= ${edition.window.to.toISOString()}`;
    ctx.stderr.write(`${edition.id} is empty: no news was published in its window (${window}); it will not be sent unless forced.\n`);
    if (!force) {
      ctx.stderr.write('Nothing written. Use --force to preview it anyway, or --date to pick another edition.\n');
      return 1;
    }
  }

  const rendered = await renderEdition(edition, { baseUrl: config.baseUrl, postalAddress: config.postalAddress, timezone: config.timezone });
  const problems = preSendChecks(rendered);
  const links = sampleLinks(config, kind);
  const copy = personalise(rendered, links);
  const eml = buildMessage(compileMessage(rendered, messageCommonFor(config, kind)), {
    to: SAMPLE_RECIPIENT.email,
    links,
    messageId: newMessageId(config.mailDomain),
    date: edition.sendAt,
  });

  await mkdir(outDir, { recursive: true, mode: PRIVATE_DIR_MODE });
  const files = { html: copy.html, txt: copy.text, eml };
  const written: string[] = [];
  for (const [ext, body] of Object.entries(files)) {
    const path = join(outDir, `${edition.id}.${ext}`);
    writePrivateFile(path, body);
    written.push(path);
  }
  ctx.stdout.write(`${edition.id}: ${edition.subject}\n`);
  ctx.stdout.write(`${edition.news.length} news, ${edition.guides.length} ${edition.guides.length === 1 ? 'guide' : 'guides'}, HTML ${Buffer.byteLength(copy.html)} bytes, to ${SAMPLE_RECIPIENT.email}\n`);
  for (const path of written) ctx.stdout.write(`wrote ${path}\n`);

  if (problems.length > 0) {
    ctx.stderr.write(`pre-send checks failed (${problems.length}):\n${problems.map((p) => `  ${p}`).join('\n')}\n`);
    if (!force) return 1;
    ctx.stderr.write('--force: ignoring the failed checks.\n');
  } else {
    ctx.stdout.write('pre-send checks: ok\n');
  }
  return 0;
};
