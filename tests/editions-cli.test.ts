import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { nextEdition } from '../src/editions/calendar.ts';
import { listEditions } from '../src/publish/edition-overview.ts';
import { markEditionSent, upsertEditionRow } from '../src/store/editions.ts';
import { approveEdition, freezeAtFirstCopy, holdEdition } from '../src/store/stored-editions.ts';
import { SubscriberStore } from '../src/store/subscribers.ts';
import { almanac } from './cli.ts';
import { EDITION_DATE, EDITION_ID, address, fixtureContent, seedSubscribers } from './delivery-fixtures.ts';
import { editionText } from './edition-fixtures.ts';
import { tempDir, testConfig, writeContent } from './helpers.ts';
import { startSmtpServer, type TestSmtpServer } from './smtp.ts';
import { describeEachDb, freshTarget, openTracked } from './store-db.ts';

const servers: TestSmtpServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

async function environment(dialect: 'sqlite' | 'postgres', subscribers = 2) {
  const server = await startSmtpServer();
  servers.push(server);
  const db = dialect === 'sqlite' ? join(tempDir(), 'a.db') : await freshTarget('postgres');
  const store = await openTracked(db);
  const emails = await seedSubscribers(new SubscriberStore(store), Array.from({ length: subscribers }, (_, i) => address(i + 1)));
  const content = fixtureContent();
  const env = { ALMANAC_DB: db, SMTP_URL: server.url, ALMANAC_BASE_URL: 'https://almanac.example', ALMANAC_SECRET: 'editions-cli-secret-0123', ALMANAC_CONTENT_DIR: content };
  return { server, store, emails, content, env };
}

function retitle(content: string, title: string): void {
  const file = join(content, 'news', 'gpt-update.md');
  writeFileSync(file, readFileSync(file, 'utf8').replace(/^title: .*$/m, `title: ${JSON.stringify(title)}`));
}

describeEachDb('editions approve / hold / release / show (CLI)', (dialect) => {
  test('approve freezes; approving again before any copy replaces it; send sends the approved edition; after a copy it cannot be replaced; show tells the history', async () => {
    const e = await environment(dialect);
    const first = await almanac(['editions', 'approve', 'midweek', '--date', EDITION_DATE, '--by', 'Ada'], e.env);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(first.stdout).toMatch(/^approved 2026-11-25-midweek \(Midweek, sends 2026-11-25 07:00 UTC\): 2 news, composition [0-9a-f]{12}, by Ada$/m);

    retitle(e.content, 'Approved headline');
    const again = await almanac(['editions', 'approve', 'midweek', '--date', EDITION_DATE, '--by', 'Grace'], e.env);
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(again.stdout).toMatch(/replaces the edition stored before \(composition [0-9a-f]{12}\); no copy of it had gone out/);

    // An edit after approval does not reach the copies: the approved edition goes out.
    retitle(e.content, 'Edited after approval');
    const sent = await almanac(['send', 'midweek', '--date', EDITION_DATE], e.env);
    expect(sent.code, sent.stdout + sent.stderr).toBe(0);
    expect(sent.stdout).toMatch(/2026-11-25-midweek is frozen \(approved by Grace at .*\); the files now compose it differently \(title changed: "Approved headline" → "Edited after approval"; subject: .*\): sending the stored edition/);
    expect(e.server.messages).toHaveLength(2);
    for (const m of e.server.messages) {
      expect(editionText(m.raw)).toContain('Approved headline');
      expect(editionText(m.raw)).not.toContain('Edited after approval');
    }

    const late = await almanac(['editions', 'approve', 'midweek', '--date', EDITION_DATE, '--by', 'Ada'], e.env);
    expect(late.code).toBe(1);
    expect(late.stdout).toMatch(/2026-11-25-midweek cannot be approved again: its copies started going out at .*, so the stored edition is final/);

    const show = await almanac(['editions', 'show', EDITION_ID], e.env);
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toMatch(/^state +sent \(approved by Grace at /m);
    expect(show.stdout).toContain('the files now compose it differently');
    expect(show.stdout).toContain('Approved headline');
    const history = show.stdout.slice(show.stdout.indexOf('History:')).split('\n').slice(1).filter(Boolean);
    expect(history.map((l) => l.trim().split(/\s+/).slice(1, 3).join(' '))).toEqual(['approved Ada', 'approved Grace']);
    const json = JSON.parse((await almanac(['editions', 'show', EDITION_ID, '--json'], e.env)).stdout);
    expect(json).toMatchObject({ id: EDITION_ID, state: 'sent', approvedBy: 'Grace', changed: true, news: 2 });
    expect(json.history.map((h: { action: string; who: string }) => `${h.action} ${h.who}`)).toEqual(['approved Ada', 'approved Grace']);
  });

  test('hold stops an approved edition (send refuses, exit 1) until it is released; hold and release say when there is nothing to do', async () => {
    const e = await environment(dialect);
    expect((await almanac(['editions', 'hold', EDITION_ID], e.env)).stdout).toMatch(/is not approved \(nothing is stored for it yet\); approve it first/);
    expect((await almanac(['editions', 'approve', 'midweek', '--date', EDITION_DATE, '--by', 'Ada'], e.env)).code).toBe(0);
    const held = await almanac(['editions', 'hold', EDITION_ID, '--by', 'Bob'], e.env);
    expect(held.stdout).toBe(`${EDITION_ID} held: it is now held\n`);
    const refused = await almanac(['send', 'midweek', '--date', EDITION_DATE], e.env);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain(`almanac send: ${EDITION_ID} is held (approved by Ada, then held); not sent. Release it with: npm run -s almanac -- editions release ${EDITION_ID}`);
    expect(e.server.messages).toHaveLength(0);
    const again = await almanac(['editions', 'hold', EDITION_ID], e.env);
    expect(again.code).toBe(1);
    expect((await almanac(['editions', 'release', EDITION_ID, '--by', 'Bob'], e.env)).stdout).toBe(`${EDITION_ID} released: it is now approved\n`);
    const sent = await almanac(['send', 'midweek', '--date', EDITION_DATE], e.env);
    expect(sent.code, sent.stdout).toBe(0);
    expect(e.server.messages).toHaveLength(2);
    const history = JSON.parse((await almanac(['editions', 'show', EDITION_ID, '--json'], e.env)).stdout).history.map((h: { action: string; who: string }) => `${h.action} ${h.who}`);
    expect(history).toEqual(['approved Ada', 'held Bob', 'released Bob']);
  });

  test('bad usage is exit 2: no edition named, two named, an id that is not an edition', async () => {
    const e = await environment(dialect, 0);
    for (const args of [['editions', 'approve', 'midweek'], ['editions', 'approve', 'midweek', '--next', '--latest'], ['editions', 'show', '2026-11-26-midweek'], ['editions', 'frobnicate']]) {
      const run = await almanac(args, e.env);
      expect(run.code, args.join(' ')).toBe(2);
    }
  });
});

describeEachDb('editions list', (dialect) => {
  test('upcoming and recent editions of both kinds with their state, news count, approval and whether the files changed (fixed clock)', async () => {
    const e = await environment(dialect);
    const config = testConfig({ ALMANAC_DB: e.env.ALMANAC_DB, ALMANAC_BASE_URL: 'https://almanac.example' });
    const now = new Date('2026-11-26T12:00:00Z');
    // 2026-11-25-midweek: frozen at its first copy and sent; 2026-11-22-sunday: frozen, being sent.
    const stub = (id: string, kind: string, sendAt: string) => ({ id, kind, sendAt, composition: '{}', hash: 'h', subject: 'S', preheader: 'P', html: '<p>x</p>', text: 'x', newsCount: 3 });
    await freezeAtFirstCopy(e.store, stub(EDITION_ID, 'midweek', '2026-11-25T07:00:00.000Z'), 'test', () => now);
    await upsertEditionRow(e.store, { edition: { id: EDITION_ID, kind: 'midweek', number: 47, sendAt: new Date('2026-11-25T07:00:00Z'), subject: 'S', preheader: 'P' }, archive: { html: 'x', text: 'x' } });
    await markEditionSent(e.store, EDITION_ID);
    await freezeAtFirstCopy(e.store, stub('2026-11-22-sunday', 'sunday', '2026-11-22T08:00:00.000Z'), 'test', () => now);
    await approveEdition(e.store, stub('2026-11-29-sunday', 'sunday', '2026-11-29T08:00:00.000Z'), 'Ada', () => now);
    await approveEdition(e.store, stub('2026-12-06-sunday', 'sunday', '2026-12-06T08:00:00.000Z'), 'Ada', () => now);
    await holdEdition(e.store, '2026-12-06-sunday', 'Bob', () => now);
    const { entries } = await listEditions({ config, store: e.store }, { contentDir: e.content, now });
    // The next two and the last four of each kind, newest first.
    expect(entries.map((x) => x.id)).toEqual([
      '2026-12-09-midweek', '2026-12-06-sunday', '2026-12-02-midweek', '2026-11-29-sunday', '2026-11-25-midweek', '2026-11-22-sunday',
      '2026-11-18-midweek', '2026-11-15-sunday', '2026-11-11-midweek', '2026-11-08-sunday', '2026-11-04-midweek', '2026-11-01-sunday',
    ]);
    const byId = new Map(entries.map((x) => [x.id, x]));
    expect(byId.get('2026-12-02-midweek')).toMatchObject({ state: 'draft', news: 0, changed: null, approvedBy: null });
    expect(byId.get('2026-11-29-sunday')).toMatchObject({ state: 'approved', news: 3, approvedBy: 'Ada', approvedAt: now.toISOString(), changed: true });
    expect(byId.get('2026-12-06-sunday')).toMatchObject({ state: 'held', approvedBy: 'Ada' });
    expect(byId.get('2026-11-18-midweek')).toMatchObject({ state: 'draft', news: 0, changed: null });
    expect(byId.get(EDITION_ID)).toMatchObject({ state: 'sent', news: 3, changed: true });
    expect(byId.get('2026-11-22-sunday')).toMatchObject({ state: 'sending', news: 3 });
    expect(entries.filter((x) => x.kind === 'midweek').length).toBe(6);
    expect(entries.filter((x) => x.kind === 'sunday').length).toBe(6);
  });

  test('the CLI lists the next edition as approved after `approve --next`, with --json and in a table (the CLI clock fixed by ALMANAC_NOW)', async () => {
    const e = await environment(dialect, 0);
    const now = new Date('2026-12-07T12:00:00Z'); // a Monday: the next Midweek is 2026-12-09
    const next = nextEdition('midweek', now, testConfig());
    expect(next.id).toBe('2026-12-09-midweek');
    const published = new Date(next.window.to.getTime() - 3_600_000).toISOString();
    const content = writeContent([{ slug: 'soon', title: 'Coming soon', published, score: 7, topics: ['x'] }], [{ slug: 'g', topics: ['x'] }]);
    const env = { ...e.env, ALMANAC_CONTENT_DIR: content, ALMANAC_NOW: now.toISOString() };
    const approved = await almanac(['editions', 'approve', 'midweek', '--next', '--by', 'Ada'], env);
    expect(approved.code, approved.stdout + approved.stderr).toBe(0);
    const list = JSON.parse((await almanac(['editions', 'list', '--json'], env)).stdout) as { id: string; state: string; news: number; approvedBy: string; changed: boolean; sendAt: string }[];
    expect(list.find((x) => x.id === next.id)).toMatchObject({ state: 'approved', news: 1, approvedBy: 'Ada', changed: false, sendAt: next.sendAt.toISOString() });
    const table = await almanac(['editions', 'list'], env);
    expect(table.stdout.split('\n')[0]).toMatch(/^edition +send time \(UTC\) +state +news +approved +files$/);
    expect(table.stdout).toMatch(new RegExp(`^${next.id} +\\S+ \\S+ UTC +approved +1 +Ada .* +unchanged$`, 'm'));
  });
});
