/**
 * `npm run demo`: with no configuration, creates a database of its own under ./data/demo, adds a few
 * sample subscribers, composes the current Midweek edition from the shipped content and sends it
 * through the demo's own outbox (.eml files under ./data/demo/outbox), then says where the messages
 * are and how to look at them. Running it again sends nothing twice: the ledger already has everyone.
 *
 * It never touches the operator's data: not ALMANAC_DB, ALMANAC_OUTBOX or SMTP_URL (neither the
 * environment nor .env is read), nor the default ./data/almanac.db and ./outbox.
 */
import { readdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { loadConfig, type Config } from '../src/config.ts';
import { runSend } from '../src/commands/send.ts';
import { openStore } from '../src/store/open.ts';
import { loadValidContent } from '../src/content/loader.ts';
import { latestEdition, type EditionSlot } from '../src/editions/calendar.ts';
import { latestWithNews } from '../src/editions/edition-for.ts';
import { compose } from '../src/editions/compose.ts';
import { SubscriberStore } from '../src/store/subscribers.ts';

const REPO = resolve(fileURLToPath(new URL('..', import.meta.url)));

export const SAMPLE_SUBSCRIBERS = [
  { email: 'ada@example.com', name: 'Ada Lovelace' },
  { email: 'grace@example.com', name: 'Grace Hopper' },
  { email: 'alan@example.org', name: 'Alan Turing' },
  { email: 'katherine@example.net', name: 'Katherine Johnson' },
  { email: 'edsger@example.org', name: 'Edsger Dijkstra' },
];

export interface DemoOptions {
  /** Folder whose data/demo/ gets the demo's database and outbox. @default the repository */
  root?: string;
  /** @default <repository>/content */
  contentDir?: string;
  now?: Date;
  out?: NodeJS.WritableStream;
}

/** The folder holding the demo's own database and outbox: `<root>/data/demo`. */
export function demoDir(root: string): string {
  return join(root, 'data', 'demo');
}

/**
 * The demo's config: the defaults, except a database and outbox of its own under data/demo/ (never
 * the operator's data/almanac.db or outbox/), and never a real SMTP relay.
 */
export function demoConfig(root: string, contentDir: string): Config {
  const dir = demoDir(root);
  return loadConfig({
    ALMANAC_DB: join(dir, 'almanac.db'),
    ALMANAC_OUTBOX: join(dir, 'outbox'),
    ALMANAC_CONTENT_DIR: contentDir,
  });
}

/**
 * The Midweek edition to show: the latest one whose instant has passed, or, when the shipped content
 * is older than that, the latest Midweek that has news.
 */
export async function demoEdition(config: Config, now: Date): Promise<{ slot: EditionSlot; fellBack: boolean }> {
  const content = await loadValidContent(config.contentDir);
  const current = latestEdition('midweek', now, config);
  const slot = compose(content, current).empty ? (latestWithNews(content, 'midweek', config, now) ?? current) : current;
  return { slot, fellBack: slot.id !== current.id };
}

/** Runs the demo; returns the send's exit code. */
export async function main(options: DemoOptions = {}): Promise<number> {
  const root = options.root ?? REPO;
  const out = options.out ?? process.stdout;
  const say = (line = '') => out.write(`${line}\n`);
  const config = demoConfig(root, options.contentDir ?? join(REPO, 'content'));
  const now = options.now ?? new Date();
  const show = (path: string) => relative(process.cwd(), path) || '.';

  const store = await openStore(config.dbPath, { poolSize: config.dbPoolSize });
  try {
    const subscribers = new SubscriberStore(store);
    let added = 0;
    for (const s of SAMPLE_SUBSCRIBERS) {
      if ((await subscribers.add({ email: s.email, name: s.name, editions: ['midweek', 'sunday'] })).result === 'added') added++;
    }
    say(`Almanac demo · its own database ${show(config.dbPath)} and outbox ${show(config.outboxDir)}/ (your ALMANAC_DB and outbox are not touched)`);
    say(`${added} sample subscriber(s) added, ${SAMPLE_SUBSCRIBERS.length - added} already there`);

    const { slot, fellBack } = await demoEdition(config, now);
    say(
      fellBack
        ? `The current Midweek has no news in the shipped content; using the latest one that does: ${slot.id}`
        : `Sending the current Midweek edition: ${slot.id}`,
    );
    say('');
    const result = await runSend(config, { kind: 'midweek', date: slot.date, store, out, progress: false, err: nullStream() });
    const dir = join(config.outboxDir, slot.id);
    const files = safeList(dir).filter((f) => f.endsWith('.eml'));
    say('');
    say(`Messages: ${files.length} .eml file(s) in ${show(dir)}/ (SMTP_URL is not set, so nothing left this machine)`);
    if (files[0]) {
      const first = join(dir, files[0]);
      say(`  open one in a mail client (Thunderbird, Apple Mail, Outlook open .eml files), or read it decoded: less ${show(first.replace(/\.eml$/, '.txt'))} (or open the .html beside it in a browser)`);
    }
    const demoDb = `ALMANAC_DB=${show(config.dbPath)}`;
    say('See the edition in a browser:');
    say(`  npm run -s almanac -- preview midweek --latest   # writes preview/${slot.id}.html, .txt and .eml`);
    say('  npm run dev                                      # React Email preview server on http://localhost:3001');
    say(`  ${demoDb} npm run -s almanac -- serve   # the demo's archive: http://localhost:3000/archive/${slot.id}`);
    say(`Run the demo again: nobody gets a second copy (the ledger says who has it): ${demoDb} npm run -s almanac -- report ${slot.id}`);
    say(`Start over: rm -r ${show(demoDir(root))}`);
    return result.exitCode;
  } finally {
    await store.close();
  }
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}

/** Swallows the send's JSON log lines; the demo prints its own summary. */
function nullStream(): NodeJS.WriteStream {
  return { write: () => true, isTTY: false } as unknown as NodeJS.WriteStream;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exitCode = await main();
}
