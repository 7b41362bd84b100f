import { afterEach, describe, expect, test } from 'vitest';
import { BounceProcessor } from '../src/bounces/process.ts';
import { verpEnvelopeSender } from '../src/bounces/verp.ts';
import { sendEdition } from '../src/delivery/sender.ts';
import { composeEdition } from '../src/editions/edition-for.ts';
import { renderEdition } from '../src/render/render-edition.ts';
import { loadSecret } from '../src/subscribers/tokens.ts';
import { bounceFixture } from './bounces-fixtures.ts';
import { EDITION_ID, harness, seedSubscribers, type Harness, legacySubscribers, sqliteOf } from './delivery-fixtures.ts';

const SUNDAY_ID = '2026-11-29-sunday';
let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** Sends 2026-11-25-midweek and 2026-11-29-sunday (outbox) to four subscribers with a soft-bounce limit of 2. */
async function twoEditions(): Promise<{ h: Harness; processor: BounceProcessor; bounce: (fixture: string, editionId: string, who: string, edit?: (raw: string) => string) => Promise<string> }> {
  h = await harness({ ALMANAC_BOUNCE_ADDRESS: 'bounces@bounces.almanac.example', ALMANAC_SOFT_BOUNCE_LIMIT: '2' });
  await seedSubscribers(h.subscribers, ['a@example.org', 'b@example.org', 'c@example.org', 'd@example.org']);
  await sendEdition(h.deps(), { edition: h.edition, rendered: h.rendered });
  const { edition } = await composeEdition('sunday', '2026-11-29', h.config, h.contentDir);
  const rendered = await renderEdition(edition, { baseUrl: h.config.baseUrl, postalAddress: h.config.postalAddress, timezone: h.config.timezone });
  await sendEdition(h.deps(), { edition, rendered });
  const processor = new BounceProcessor(sqliteOf(h), h.config);
  const secret = loadSecret(sqliteOf(h), h.config);
  const harnessRef = h;
  return {
    h,
    processor,
    bounce: async (fixture, editionId, who, edit = (raw) => raw) => {
      const s = legacySubscribers(harnessRef).findByEmail(who)!;
      const row = sqliteOf(harnessRef).prepare('SELECT message_id FROM deliveries WHERE edition_id = ? AND subscriber_id = ?').get(editionId, s.id) as { message_id: string };
      const raw = edit(bounceFixture(fixture, { to: verpEnvelopeSender(harnessRef.config, secret, editionId, s.id), rcpt: who, messageId: row.message_id }));
      return (await processor.processOne({ name: fixture, raw })).line;
    },
  };
}

function subscriber(h: Harness, email: string) {
  const s = legacySubscribers(h).findByEmail(email)!;
  return { status: s.status, softBounces: s.softBounces };
}

function state(h: Harness, editionId: string, email: string): string {
  return (sqliteOf(h).prepare('SELECT state FROM deliveries WHERE edition_id = ? AND email = ?').get(editionId, email) as { state: string }).state;
}

describe('applying late bounces to the store', () => {
  test('soft bounces count toward ALMANAC_SOFT_BOUNCE_LIMIT across editions, in whatever order they arrive', async () => {
    const { h, bounce } = await twoEditions();
    // The later edition's bounce arrives first.
    expect(await bounce('postfix-mailbox-full', SUNDAY_ID, 'a@example.org')).toMatch(/soft bounce 1 of 2$/);
    expect(subscriber(h, 'a@example.org')).toEqual({ status: 'active', softBounces: 1 });
    expect(await bounce('exim-mailbox-full', EDITION_ID, 'a@example.org')).toMatch(/soft bounce 2 of 2: subscriber bounced, suppressed$/);
    expect(subscriber(h, 'a@example.org')).toEqual({ status: 'bounced', softBounces: 2 });
    expect(legacySubscribers(h).isSuppressed('a@example.org')).toBe(true);

    // One soft bounce, then a copy that was not bounced: the run is 1, not at the limit.
    expect(await bounce('postfix-mailbox-full', EDITION_ID, 'b@example.org')).toMatch(/soft bounce 1 of 2$/);
    expect(subscriber(h, 'b@example.org')).toEqual({ status: 'active', softBounces: 1 });
    expect(state(h, SUNDAY_ID, 'b@example.org')).toBe('sent');
  });

  test('a complaint after a hard bounce makes the copy and the subscriber complained; a hard bounce after a complaint changes nothing', async () => {
    const { h, bounce } = await twoEditions();
    expect(await bounce('gmail-no-such-user', EDITION_ID, 'c@example.org')).toMatch(/copy bounced, subscriber bounced: suppressed/);
    expect(await bounce('arf-abuse-complaint', EDITION_ID, 'c@example.org')).toMatch(/copy complained, subscriber complained: suppressed/);
    expect(state(h, EDITION_ID, 'c@example.org')).toBe('complained');
    expect(subscriber(h, 'c@example.org').status).toBe('complained');
    expect(await bounce('gmail-no-such-user', EDITION_ID, 'c@example.org')).toMatch(/^unchanged: .*already complained/);
    expect(await bounce('qmail-no-mailbox', SUNDAY_ID, 'c@example.org')).toMatch(/copy bounced, subscriber already complained/);
    expect(subscriber(h, 'c@example.org').status).toBe('complained');
  });

  test('a policy rejection marks the copy failed and leaves the subscriber alone', async () => {
    const { h, bounce } = await twoEditions();
    const line = await bounce('postfix-user-unknown', EDITION_ID, 'd@example.org', (raw) =>
      raw
        .replace('Status: 5.1.1', 'Status: 5.7.1')
        .replace(/Diagnostic-Code: smtp; 550 5\.1\.1 [^\r]*\r\n[^\r]*/, 'Diagnostic-Code: smtp; 550 5.7.1 Message rejected as spam by Content Filtering'),
    );
    expect(line).toMatch(/changed: permanent failure \(not the address\) 5\.7\.1 .*copy failed, subscriber unchanged/);
    expect(state(h, EDITION_ID, 'd@example.org')).toBe('failed');
    expect(subscriber(h, 'd@example.org')).toEqual({ status: 'active', softBounces: 0 });
  });
});
