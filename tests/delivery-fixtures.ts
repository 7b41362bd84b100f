import { join } from 'node:path';
import type { Config } from '../src/config.ts';
import type { SendDeps, SendLogEvent } from '../src/delivery/sender.ts';
import { createTransport } from '../src/delivery/create-transport.ts';
import type { Transport } from '../src/delivery/transport.ts';
import { composeEdition } from '../src/editions/edition-for.ts';
import type { Edition } from '../src/editions/compose.ts';
import { renderEdition, type RenderedEdition } from '../src/render/render-edition.ts';
import type { DialectName, Store } from '../src/store/handle.ts';
import { openStore } from '../src/store/open.ts';
import { loadSecret } from '../src/store/secret.ts';
import { SubscriberStore } from '../src/store/subscribers.ts';
import type { Subscriber } from '../src/store/types.ts';
import { Tokens, recipientLinks } from '../src/subscribers/tokens.ts';
import { tempDir, testConfig, writeContent } from './helpers.ts';
import { cleanUp, freshTarget } from './store-db.ts';

/** The Midweek edition these fixtures compose: news between Sunday 2026-11-22 08:00 and Wednesday 2026-11-25 07:00 UTC. */
export const EDITION_DATE = '2026-11-25';
export const EDITION_ID = '2026-11-25-midweek';

/** A small content directory with fixed dates that makes 2026-11-25-midweek non-empty. */
export function fixtureContent(): string {
  return writeContent(
    [
      { slug: 'gpt-update', title: 'A model update ships', published: '2026-11-23T10:00:00Z', score: 8, topics: ['gpt-4o'] },
      { slug: 'eval-paper', title: 'An evaluation paper', published: '2026-11-24T12:00:00Z', score: 6, topics: ['evals'] },
      { slug: 'old-news', title: 'Last week', published: '2026-11-18T12:00:00Z', score: 9, topics: ['gpt-4o'] },
    ],
    [{ slug: 'gpt-4o', title: 'GPT-4o guide', topics: ['gpt-4o'] }],
  );
}

/** An address for subscriber number i (1-based) in a test. */
export function address(i: number, prefix = 'reader'): string {
  return `${prefix}${String(i).padStart(5, '0')}@example.org`;
}

/** Adds active Midweek+Sunday subscribers; returns their addresses in id order. */
export async function seedSubscribers(subscribers: SubscriberStore, emails: string[]): Promise<string[]> {
  for (const email of emails) await subscribers.importOne({ email, editions: ['midweek', 'sunday'] });
  return emails;
}

export interface Harness {
  dir: string;
  config: Config;
  /** The database the harness opened (SQLite file or a fresh PostgreSQL database). */
  store: Store;
  subscribers: SubscriberStore;
  contentDir: string;
  edition: Edition;
  rendered: RenderedEdition;
  events: SendLogEvent[];
  transport: Transport;
  deps(overrides?: Partial<SendDeps>): SendDeps;
  close(): Promise<void>;
}

/** A fresh database (a temp SQLite file, or a new PostgreSQL database), fixture content, the composed + rendered edition and a transport for `env`. */
export async function harness(env: Record<string, string> = {}, dialect: DialectName = 'sqlite'): Promise<Harness> {
  const dir = tempDir('almanac-delivery-');
  const target = dialect === 'sqlite' ? join(dir, 'almanac.db') : await freshTarget('postgres');
  const contentDir = fixtureContent();
  const config = testConfig({
    ALMANAC_DB: target,
    ALMANAC_OUTBOX: join(dir, 'outbox'),
    ALMANAC_CONTENT_DIR: contentDir,
    ALMANAC_BASE_URL: 'https://almanac.example',
    ALMANAC_SECRET: 'test-secret-0123456789abcdef',
    SMTP_RETRY_BACKOFF_MS: '20',
    SMTP_RETRY_ATTEMPTS: '3',
    ...env,
  });
  const store = await openStore(config.dbPath);
  const subscribers = new SubscriberStore(store);
  const tokens = new Tokens(await loadSecret(store, config));
  const { edition } = await composeEdition('midweek', EDITION_DATE, config, contentDir);
  const rendered = await renderEdition(edition, { baseUrl: config.baseUrl, postalAddress: config.postalAddress, timezone: config.timezone });
  const events: SendLogEvent[] = [];
  const transport = createTransport(config);
  return {
    dir,
    config,
    store,
    subscribers,
    contentDir,
    edition,
    rendered,
    events,
    transport,
    deps: (overrides = {}) => ({
      store,
      transport,
      config,
      log: (e) => events.push(e),
      links: (id, kind) => recipientLinks(config.baseUrl, tokens, id, kind),
      ...overrides,
    }),
    close: async () => {
      await transport.close();
      await store.close();
      await cleanUp(); // drops the PostgreSQL database
    },
  };
}

/** Ledger rows of an edition as { email: state }. */
export async function ledgerStates(store: Store, editionId = EDITION_ID): Promise<Record<string, string>> {
  const rows = await store.db.selectFrom('deliveries').select(['email', 'state']).where('edition_id', '=', editionId).orderBy('subscriber_id').execute();
  return Object.fromEntries(rows.map((r) => [r.email, r.state]));
}

/** How many times each address appears among the server's received messages. */
export function receivedCounts(recipients: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of recipients) counts.set(r, (counts.get(r) ?? 0) + 1);
  return counts;
}

/** The subscriber with this address (throws when there is none: a test names only addresses it added). */
export async function subscriberNamed(h: Harness, email: string): Promise<Subscriber> {
  const s = await h.subscribers.findByEmail(email);
  if (!s) throw new Error(`no subscriber ${email} in the test database`);
  return s;
}

/** The ledger row of one copy (state, Message-ID, late outcome columns). */
export async function copyRow(h: Harness, editionId: string, subscriberId: number) {
  return h.store.db.selectFrom('deliveries').selectAll().where('edition_id', '=', editionId).where('subscriber_id', '=', subscriberId).executeTakeFirstOrThrow();
}
