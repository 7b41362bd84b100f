import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { BounceProcessor, type RawInput } from '../src/bounces/process.ts';
import { providerAnalysis } from '../src/bounces/providers/event.ts';
import { verpEnvelopeSender } from '../src/bounces/verp.ts';
import { sendEdition } from '../src/delivery/sender.ts';
import { composeEdition } from '../src/editions/edition-for.ts';
import { renderEdition } from '../src/render/render-edition.ts';
import type { DialectName } from '../src/store/handle.ts';
import { loadSecret } from '../src/store/secret.ts';
import { SubscriberStore } from '../src/store/subscribers.ts';
import { bounceFixture } from './bounces-fixtures.ts';
import { almanac } from './cli.ts';
import { EDITION_ID, copyRow, harness, seedSubscribers, subscriberNamed, type Harness } from './delivery-fixtures.ts';
import { tempDir } from './helpers.ts';
import { describeEachDb, openTracked, PG_SKIP_REASON, PG_URL } from './store-db.ts';

const SUNDAY_ID = '2026-11-29-sunday';
let harnesses: Harness[] = [];
afterEach(async () => {
  for (const h of harnesses.splice(0)) await h.close();
});

/** Sends 2026-11-25-midweek and 2026-11-29-sunday (outbox) to `emails` with a soft-bounce limit of `limit`. */
async function twoEditions(dialect: DialectName, emails = ['a@example.org', 'b@example.org', 'c@example.org', 'd@example.org'], limit = 2) {
  const h = await harness({ ALMANAC_BOUNCE_ADDRESS: 'bounces@bounces.almanac.example', ALMANAC_SOFT_BOUNCE_LIMIT: String(limit) }, dialect);
  harnesses.push(h);
  await seedSubscribers(h.subscribers, emails);
  await sendEdition(h.deps(), { edition: h.edition, rendered: h.rendered });
  const { edition } = await composeEdition('sunday', '2026-11-29', h.config, h.contentDir);
  const rendered = await renderEdition(edition, { baseUrl: h.config.baseUrl, postalAddress: h.config.postalAddress, timezone: h.config.timezone });
  await sendEdition(h.deps(), { edition, rendered });
  const processor = await BounceProcessor.open(h.store, h.config);
  const secret = await loadSecret(h.store, h.config);
  /** The raw bounce `fixture` about the copy of `editionId` sent to `who`. */
  const raw = async (fixture: string, editionId: string, who: string, edit = (r: string) => r) => {
    const s = await subscriberNamed(h, who);
    const row = await copyRow(h, editionId, s.id);
    return edit(bounceFixture(fixture, { to: verpEnvelopeSender(h.config, secret, editionId, s.id), rcpt: who, messageId: row.message_id! }));
  };
  return {
    h,
    processor,
    raw,
    bounce: async (fixture: string, editionId: string, who: string, edit?: (raw: string) => string) =>
      (await processor.processOne({ name: fixture, raw: await raw(fixture, editionId, who, edit) })).line,
  };
}

async function subscriber(h: Harness, email: string) {
  const s = await subscriberNamed(h, email);
  return { status: s.status, softBounces: s.softBounces };
}

async function state(h: Harness, editionId: string, email: string): Promise<string> {
  return (await copyRow(h, editionId, (await subscriberNamed(h, email)).id)).state;
}

describeEachDb('applying late bounces to the store', (dialect) => {
  test('soft bounces count toward ALMANAC_SOFT_BOUNCE_LIMIT across editions, in whatever order they arrive', async () => {
    const { h, bounce } = await twoEditions(dialect);
    // The later edition's bounce arrives first.
    expect(await bounce('postfix-mailbox-full', SUNDAY_ID, 'a@example.org')).toMatch(/soft bounce 1 of 2$/);
    expect(await subscriber(h, 'a@example.org')).toEqual({ status: 'active', softBounces: 1 });
    expect(await bounce('exim-mailbox-full', EDITION_ID, 'a@example.org')).toMatch(/soft bounce 2 of 2: subscriber bounced, suppressed$/);
    expect(await subscriber(h, 'a@example.org')).toEqual({ status: 'bounced', softBounces: 2 });
    expect(await h.subscribers.isSuppressed('a@example.org')).toBe(true);

    // One soft bounce, then a copy that was not bounced: the run is 1, not at the limit.
    expect(await bounce('postfix-mailbox-full', EDITION_ID, 'b@example.org')).toMatch(/soft bounce 1 of 2$/);
    expect(await subscriber(h, 'b@example.org')).toEqual({ status: 'active', softBounces: 1 });
    expect(await state(h, SUNDAY_ID, 'b@example.org')).toBe('sent');
  });

  test('a complaint after a hard bounce makes the copy and the subscriber complained; a hard bounce after a complaint changes nothing', async () => {
    const { h, bounce } = await twoEditions(dialect);
    expect(await bounce('gmail-no-such-user', EDITION_ID, 'c@example.org')).toMatch(/copy bounced, subscriber bounced: suppressed/);
    expect(await bounce('arf-abuse-complaint', EDITION_ID, 'c@example.org')).toMatch(/copy complained, subscriber complained: suppressed/);
    expect(await state(h, EDITION_ID, 'c@example.org')).toBe('complained');
    expect((await subscriber(h, 'c@example.org')).status).toBe('complained');
    expect(await bounce('gmail-no-such-user', EDITION_ID, 'c@example.org')).toMatch(/^unchanged: .*already complained/);
    expect(await bounce('qmail-no-mailbox', SUNDAY_ID, 'c@example.org')).toMatch(/copy bounced, subscriber already complained/);
    expect((await subscriber(h, 'c@example.org')).status).toBe('complained');
  });

  test('a policy rejection marks the copy failed and leaves the subscriber alone', async () => {
    const { h, bounce } = await twoEditions(dialect);
    const line = await bounce('postfix-user-unknown', EDITION_ID, 'd@example.org', (raw) =>
      raw
        .replace('Status: 5.1.1', 'Status: 5.7.1')
        .replace(/Diagnostic-Code: smtp; 550 5\.1\.1 [^\r]*\r\n[^\r]*/, 'Diagnostic-Code: smtp; 550 5.7.1 Message rejected as spam by Content Filtering'),
    );
    expect(line).toMatch(/changed: permanent failure \(not the address\) 5\.7\.1 .*copy failed, subscriber unchanged/);
    expect(await state(h, EDITION_ID, 'd@example.org')).toBe('failed');
    expect(await subscriber(h, 'd@example.org')).toEqual({ status: 'active', softBounces: 0 });
  });

  test('an authenticated provider event may name its recipient by address; the same report by mail changes nothing', async () => {
    const { h, processor } = await twoEditions(dialect);
    const byMail = bounceFixture('gmail-no-such-user', { to: 'bounces@bounces.almanac.example', rcpt: 'a@example.org', messageId: '<unknown@elsewhere.example>' });
    expect((await processor.processOne({ name: 'mail', raw: byMail })).outcome).toBe('unverified');
    expect(await subscriber(h, 'a@example.org')).toEqual({ status: 'active', softBounces: 0 });

    const event = providerAnalysis('postmark', { class: 'hard', why: 'HardBounce', recipient: 'A@example.org', status: '5.1.1' }, h.config.bounce.address);
    const [result] = await processor.applyEvents([event]);
    expect(result!.outcome).toBe('changed');
    expect(result!.line).toMatch(/matched by recipient address.*subscriber bounced: suppressed/);
    expect((await subscriber(h, 'a@example.org')).status).toBe('bounced');
  });

  test('a batch of many messages is applied in one transaction: a failure part-way leaves nothing of the batch written', async () => {
    const { h, raw } = await twoEditions(dialect);
    const before = await h.store.db.selectFrom('deliveries').select(['email', 'edition_id', 'state']).orderBy('email').orderBy('edition_id').execute();
    // A clock that fails at its third reading: after the first message of the batch was written, while the second is applied.
    let readings = 0;
    const failing = await BounceProcessor.open(h.store, h.config, () => {
      if (++readings === 3) throw new Error('clock failed');
      return new Date();
    });
    const inputs: RawInput[] = [
      { name: 'hard', raw: await raw('gmail-no-such-user', EDITION_ID, 'a@example.org') },
      { name: 'soft', raw: await raw('postfix-mailbox-full', EDITION_ID, 'b@example.org') },
    ];
    await expect(failing.processAll(inputs, () => {})).rejects.toThrow('clock failed');
    expect(readings).toBe(3);
    expect(await h.store.db.selectFrom('deliveries').select(['email', 'edition_id', 'state']).orderBy('email').orderBy('edition_id').execute()).toEqual(before);
    expect(await subscriber(h, 'a@example.org')).toEqual({ status: 'active', softBounces: 0 });
    expect(await h.subscribers.isSuppressed('a@example.org')).toBe(false);
  });
});

describe.skipIf(!PG_URL)(`late bounces from concurrent processes [postgres]${PG_URL ? '' : ` (${PG_SKIP_REASON})`}`, () => {
  const emails = Array.from({ length: 12 }, (_, i) => `soft${i}@example.org`);
  /** Every subscriber: a mailbox-full bounce for the Midweek copy; every other one also for the Sunday copy. */
  const messages = async (raw: Awaited<ReturnType<typeof twoEditions>>['raw']) => {
    const out: RawInput[] = [];
    for (const [i, email] of emails.entries()) {
      out.push({ name: `${email} midweek`, raw: await raw('postfix-mailbox-full', EDITION_ID, email) });
      if (i % 2 === 0) out.push({ name: `${email} sunday`, raw: await raw('exim-mailbox-full', SUNDAY_ID, email) });
    }
    return out;
  };
  /** Each subscriber's status, count, copies' states and suppression. */
  const outcome = async (h: Harness) => {
    const list = new SubscriberStore(h.store);
    const result: Record<string, unknown> = {};
    for (const email of emails) {
      result[email] = { ...(await subscriber(h, email)), midweek: await state(h, EDITION_ID, email), sunday: await state(h, SUNDAY_ID, email), suppressed: await list.isSuppressed(email) };
    }
    return result;
  };
  /** One sequential run of all the bounces: what concurrent runs must match. */
  const sequentialOutcome = async () => {
    const one = await twoEditions('postgres', emails, 3);
    const sequential: string[] = [];
    await one.processor.processAll(await messages(one.raw), (r) => sequential.push(r.outcome));
    expect(sequential.filter((o) => o === 'changed')).toHaveLength(18);
    const expected = await outcome(one.h);
    for (const [i, email] of emails.entries()) {
      expect(expected[email]).toEqual({ status: 'active', softBounces: i % 2 === 0 ? 2 : 1, midweek: 'soft_bounced', sunday: i % 2 === 0 ? 'soft_bounced' : 'sent', suppressed: false });
    }
    return expected;
  };

  test('two processors applying the same and different soft bounces of one subscriber at once count exactly as one sequential run', async () => {
    const expected = await sequentialOutcome();

    // Two processes at once on their own connection pools, each with ALL the bounces (so every bounce
    // arrives twice, once in each), in opposite orders and small batches, so their transactions
    // interleave and lock the same copies and subscribers in different orders.
    const two = await twoEditions('postgres', emails, 3);
    const inputs = await messages(two.raw);
    const other = await openTracked(two.h.config.dbPath);
    const second = await BounceProcessor.open(other, two.h.config);
    const outcomes: string[] = [];
    await Promise.all([
      two.processor.processAll(inputs, (r) => outcomes.push(r.outcome), 2),
      second.processAll([...inputs].reverse(), (r) => outcomes.push(r.outcome), 3),
    ]);
    // Each bounce changed the store exactly once; its twin found it already applied.
    expect(outcomes.filter((o) => o === 'changed')).toHaveLength(18);
    expect(outcomes.filter((o) => o === 'unchanged')).toHaveLength(18);
    expect(await outcome(two.h)).toEqual(expected);
  });

  test('two `almanac bounces ingest` processes at once over the same directory give the counts of one run', async () => {
    const expected = await sequentialOutcome();
    const two = await twoEditions('postgres', emails, 3);
    const dir = tempDir('almanac-bounce-dir-');
    for (const [i, input] of (await messages(two.raw)).entries()) writeFileSync(join(dir, `${String(i).padStart(3, '0')}.eml`), input.raw);
    const env = {
      ALMANAC_DB: two.h.config.dbPath,
      ALMANAC_SECRET: 'test-secret-0123456789abcdef', // the harness's
      ALMANAC_BOUNCE_ADDRESS: 'bounces@bounces.almanac.example',
      ALMANAC_SOFT_BOUNCE_LIMIT: '3',
    };
    const runs = await Promise.all([almanac(['bounces', 'ingest', dir], env), almanac(['bounces', 'ingest', dir], env)]);
    for (const run of runs) expect(run.code, run.stderr).toBe(0);
    const changed = runs.map((run) => Number(/(\d+) changed, (\d+) already known/.exec(run.stderr)![1]));
    const known = runs.map((run) => Number(/(\d+) changed, (\d+) already known/.exec(run.stderr)![2]));
    expect(changed[0]! + changed[1]!).toBe(18);
    expect(known[0]! + known[1]!).toBe(18);
    expect(await outcome(two.h)).toEqual(expected);
  }, 120_000);
});
