import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { nextEdition } from '../src/editions/calendar.ts';
import { storedEdition } from '../src/store/stored-editions.ts';
import { SubscriberStore } from '../src/store/subscribers.ts';
import { almanac } from './cli.ts';
import { address, seedSubscribers } from './delivery-fixtures.ts';
import { tempDir, testConfig, writeContent } from './helpers.ts';
import { startSmtpServer, type TestSmtpServer } from './smtp.ts';
import { describeEachDb, freshTarget, openTracked } from './store-db.ts';

const servers: TestSmtpServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

describeEachDb('send refuses an edition whose send time is still ahead, unless --now', (dialect) => {
  test('without --date (the next edition) or with a future --date: exit 1, says when it is due and how to send it now; nothing frozen or sent; --dry-run counts; --now sends', async () => {
    const server = await startSmtpServer();
    servers.push(server);
    const db = dialect === 'sqlite' ? join(tempDir(), 'a.db') : await freshTarget('postgres');
    const store = await openTracked(db);
    await seedSubscribers(new SubscriberStore(store), [address(1), address(2)]);
    // The CLI's clock is fixed (ALMANAC_NOW) on a Monday: the next Midweek is two days ahead, with news
    // published a minute before its send instant (after "now").
    const now = new Date('2026-12-07T12:00:00Z');
    const next = nextEdition('midweek', now, testConfig());
    expect(next.id).toBe('2026-12-09-midweek');
    const published = new Date(next.window.to.getTime() - 60_000).toISOString();
    const content = writeContent([{ slug: 'soon', title: 'Soon', published, score: 7, topics: ['x'] }], [{ slug: 'g', topics: ['x'] }]);
    const env = { ALMANAC_DB: db, SMTP_URL: server.url, ALMANAC_CONTENT_DIR: content, ALMANAC_BASE_URL: 'https://almanac.example', ALMANAC_SECRET: 'early-test-secret-01234', ALMANAC_NOW: now.toISOString() };

    for (const args of [['send', 'midweek'], ['send', 'midweek', '--date', next.date]]) {
      const early = await almanac(args, env);
      expect(early.code, early.stdout + early.stderr).toBe(1);
      expect(early.stdout).toMatch(
        new RegExp(`^almanac send: ${next.id} is due ${next.date} 07:00 UTC \\(in [^)]+\\); not sent before its time\\. Send it now with: npm run -s almanac -- send midweek --date ${next.date} --now \\(the scheduler sends it at its time\\)$`, 'm'),
      );
    }
    expect(server.messages).toHaveLength(0);
    expect(await storedEdition(store, next.id)).toBeUndefined();
    expect(await store.db.selectFrom('deliveries').selectAll().execute()).toEqual([]);

    const dry = await almanac(['send', 'midweek', '--dry-run'], env);
    expect(dry.code, dry.stdout + dry.stderr).toBe(0);
    expect(dry.stdout).toContain(`dry run: ${next.id} would go to 2 of 2 active subscribers`);

    const sent = await almanac(['send', 'midweek', '--now'], env);
    expect(sent.code, sent.stdout + sent.stderr).toBe(0);
    expect(server.recipients().sort()).toEqual([address(1), address(2)]);
    expect((await storedEdition(store, next.id))?.state).toBe('frozen');
  });
});
