import { resolve } from 'node:path';
import { UsageError, type Command } from './command.ts';
import { formatReport } from '../delivery/report.ts';
import { editionReport } from '../store/editions.ts';
import { openStore } from '../store/open.ts';
import { parse } from './args.ts';
import { engagementPart } from '../tracking/report-command.ts';

/** `report <edition-id> [--failed] [--json] [--html FILE]`: who got an edition (counts by state; --failed lists everyone who did not, with the last reply). Exit 1 when the edition was never sent. */
export const reportCommand: Command = async (ctx) => {
  const { values, positionals } = parse(ctx.args, { failed: { type: 'boolean' }, json: { type: 'boolean' }, html: { type: 'string' } });
  const id = positionals[0];
  if (!id) throw new UsageError('missing edition id, e.g. 2026-11-25-midweek');
  if (positionals.length > 1) throw new UsageError(`unexpected argument '${positionals[1]}'`);
  if (!/^\d{4}-\d{2}-\d{2}-(midweek|sunday)$/.test(id)) {
    throw new UsageError(`expected an edition id such as 2026-11-25-midweek, found ${JSON.stringify(id)}`);
  }
  const config = ctx.config();
  const store = await openStore(config.dbPath, { poolSize: config.dbPoolSize });
  try {
    const report = await editionReport(store, id, !!values.failed);
    if (!report) {
      ctx.stderr.write(`almanac report: ${id} has not been sent (no edition row, no ledger rows)\n`);
      return 1;
    }
    const engagement = await engagementPart(ctx.config(), id); // issue 18: human clicks per link, opens, --html FILE
    if (values.html) engagement.writeHtml(values.html, report);
    ctx.stdout.write(values.json ? `${JSON.stringify({ ...report, engagement: engagement.engagement })}\n` : formatReport(report) + engagement.text);
    // Say where the page went; with --json on stderr, so standard output stays one JSON object.
    if (values.html) (values.json ? ctx.stderr : ctx.stdout).write(`wrote the report page ${resolve(values.html)}\n`);
    return 0;
  } finally {
    await store.close();
  }
};
