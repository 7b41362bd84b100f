/**
 * What the bench compares the real send with: the ledger's writes alone (the floor the database
 * sets), and a naive sender that renders and sends each copy on its own (the ceiling it beats).
 */
import type { Config } from '../../src/config.ts';
import type { Edition } from '../../src/editions/compose.ts';
import { Ledger, LedgerBatch } from '../../src/store/ledger.ts';
import { Tokens, recipientLinks } from '../../src/subscribers/tokens.ts';
import { withStore } from './database.ts';
import { BENCH_SECRET } from './edition.ts';
import { benchAddress } from './seed.ts';

/** Time taken, and the same per message. */
export interface LedgerTiming {
  ms: number;
  usPerMessage: number;
}

/**
 * The ledger's cost in isolation: the same batched commits the send loop makes per recipient
 * ('sending' before the SMTP call, then the outcome), for `n` recipients, committed in
 * transactions of `batch` recipients (the loop commits each wake-up's replies and the next picks
 * together). Written under a separate edition id in the same database.
 */
export async function measureLedger(target: string, n: number, batch: number): Promise<LedgerTiming> {
  return withStore(target, async (store) => {
    const ledger = new Ledger(store, `bench-ledger-probe-${batch}`);
    const started = performance.now();
    let previous: number[] = [];
    for (let from = 1; from <= n + batch; from += batch) {
      const current: number[] = [];
      for (let id = from; id < from + batch && id <= n; id++) current.push(id);
      const writes = new LedgerBatch();
      for (const id of previous) writes.record({ subscriberId: id, state: 'sent', reply: '250 Message queued', messageId: `<${id}@bench>` }, benchAddress(id));
      for (const id of current) writes.markSending(id, benchAddress(id), `<${id}@bench>`);
      await ledger.commit(writes);
      previous = current;
    }
    const ms = performance.now() - started;
    return { ms, usPerMessage: (ms * 1000) / n };
  });
}

/** What the naive baseline did. */
export interface BaselineRun {
  ms: number;
  sent: number;
  msgsPerSecond: number;
}

/**
 * The naive sender: per recipient, a React render of the edition with that recipient's links, a
 * toPlainText for the text part, and nodemailer `sendMail({ from, to, subject, html, text, headers })`
 * on a pooled transport, `connections` recipients at a time. Returns messages per second.
 */
export async function runBaseline(input: { edition: Edition; config: Config; count: number; connections: number }): Promise<BaselineRun> {
  const { edition, config } = input;
  // Loaded here, not at the top: `--help` and the argument checks need no React nor nodemailer.
  const [{ render, toPlainText }, { default: nodemailer }, { createElement }, { EditionLayout }] = await Promise.all([
    import('@react-email/render'),
    import('nodemailer'),
    import('react'),
    import('../../emails/_components/edition-layout.tsx'),
  ]);
  const tokens = new Tokens(BENCH_SECRET);
  const site = { baseUrl: config.baseUrl, postalAddress: config.postalAddress, timezone: config.timezone };
  const pool = nodemailer.createTransport({ url: config.smtp.url, pool: true, maxConnections: input.connections, maxMessages: Infinity });
  const renderFor = async (id: number) => {
    const links = recipientLinks(config.baseUrl, tokens, id, edition.kind);
    const html = await render(createElement(EditionLayout, { edition, links, site }));
    return { html, text: toPlainText(html), links };
  };
  await renderFor(1); // warm-up (the first render loads and compiles the components), not timed
  let next = 1;
  let sent = 0;
  const started = performance.now();
  const worker = async () => {
    while (next <= input.count) {
      const id = next++;
      const { html, text, links } = await renderFor(id);
      await pool.sendMail({
        from: config.from,
        to: benchAddress(id),
        subject: edition.subject,
        html,
        text,
        headers: {
          'List-Unsubscribe': `<${links.unsubscribeUrl}>`,
          'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
          'List-Id': `Sunday <sunday.${config.mailDomain}>`,
        },
      });
      sent++;
    }
  };
  try {
    await Promise.all(Array.from({ length: input.connections }, worker));
  } finally {
    pool.close();
  }
  const ms = performance.now() - started;
  return { ms, sent, msgsPerSecond: (sent * 1000) / ms };
}
