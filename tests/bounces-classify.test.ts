import { describe, expect, test } from 'vitest';
import { analyse, classifyFailure } from '../src/bounces/classify.ts';
import { NotAMessageError, readMessage } from '../src/bounces/message.ts';
import { isBounceAddress, tagsAddressedTo, verifyVerpTag, verpEnvelopeSender, verpTag } from '../src/bounces/verp.ts';
import { bounceFixture } from './bounces-fixtures.ts';
import { testConfig } from './helpers.ts';

const SECRET = 'classify-test-secret-0123456789';
const BOUNCE = 'bounces@bounces.almanac.example';

describe('VERP tags', () => {
  test('a tag names the edition and subscriber, verifies, and does not spell out the address', () => {
    const config = testConfig({ ALMANAC_BOUNCE_ADDRESS: BOUNCE });
    const sender = verpEnvelopeSender(config, SECRET, '2026-11-25-midweek', 4242);
    const m = /^bounces\+([a-z2-7]{32})@bounces\.almanac\.example$/.exec(sender);
    expect(m).not.toBeNull();
    expect(verifyVerpTag(SECRET, m![1]!)).toEqual({ editionId: '2026-11-25-midweek', subscriberId: 4242 });
    // Mail systems may change the case of a local part: the tag still verifies.
    expect(verifyVerpTag(SECRET, m![1]!.toUpperCase())).toEqual({ editionId: '2026-11-25-midweek', subscriberId: 4242 });
    expect(verifyVerpTag(SECRET, verpTag(SECRET, '2027-01-03-sunday', 2 ** 40))).toEqual({ editionId: '2027-01-03-sunday', subscriberId: 2 ** 40 });
  });

  test('a changed character, another secret or a wrong length does not verify', () => {
    const tag = verpTag(SECRET, '2026-11-25-midweek', 7);
    const flipped = `${tag.slice(0, 10)}${tag[10] === 'a' ? 'b' : 'a'}${tag.slice(11)}`;
    expect(verifyVerpTag(SECRET, flipped)).toBeUndefined();
    expect(verifyVerpTag('another-secret-0123456789', tag)).toBeUndefined();
    expect(verifyVerpTag(SECRET, tag.slice(1))).toBeUndefined();
    expect(verifyVerpTag(SECRET, `${tag}a`)).toBeUndefined();
    expect(verifyVerpTag(SECRET, '')).toBeUndefined();
  });

  test('without ALMANAC_BOUNCE_ADDRESS the envelope sender is ALMANAC_FROM, as before', () => {
    const config = testConfig({ ALMANAC_FROM: 'Almanac <news@almanac.example>' });
    expect(verpEnvelopeSender(config, SECRET, '2026-11-25-midweek', 1)).toBe('news@almanac.example');
  });

  test('tags are found in any case and only on the bounce address', () => {
    const tag = verpTag(SECRET, '2026-11-25-midweek', 7);
    const text = `To: BOUNCES+${tag.toUpperCase()}@Bounces.Almanac.Example.\nX: notbounces+${tag}@bounces.almanac.example\nY: bounces+${tag}@other.example\nZ: bounces+${tag.slice(1)}a@bounces.almanac.example.evil.example`;
    expect(tagsAddressedTo(BOUNCE, text)).toEqual([tag]);
    expect(isBounceAddress(BOUNCE, `bounces+${tag}@bounces.almanac.example`)).toBe(true);
    expect(isBounceAddress(BOUNCE, 'BOUNCES@bounces.almanac.example')).toBe(true);
    expect(isBounceAddress(BOUNCE, 'postmaster@bounces.almanac.example')).toBe(false);
    expect(isBounceAddress(BOUNCE, 'bounces@elsewhere.example')).toBe(false);
    expect(isBounceAddress(BOUNCE, 'bounces+x@y@bounces.almanac.example')).toBe(false);
  });
});

describe('classifying what real mail systems send', () => {
  const tag = verpTag(SECRET, '2026-11-25-midweek', 3);
  const values = { to: `bounces+${tag}@bounces.almanac.example`, rcpt: 'dana@example.org', messageId: '<mq1.abc123@almanac.example>' };

  test.each([
    ['postfix-user-unknown', 'hard', '5.1.1', 'dsn'],
    ['postfix-genuine-local', 'hard', '5.1.1', 'dsn'],
    ['postfix-mailbox-full', 'soft', '4.2.2', 'dsn'],
    ['postfix-delayed', 'ignored', undefined, 'dsn'],
    ['gmail-no-such-user', 'hard', '5.1.1', 'dsn'],
    ['microsoft365-recipient-not-found', 'hard', '5.1.10', 'dsn'],
    ['yahoo-no-account', 'hard', '5.0.0', 'yahoo'],
    ['qmail-no-mailbox', 'hard', '5.1.1', 'qmail'],
    ['exim-user-unknown', 'hard', '5.1.1', 'exim'],
    ['exim-mailbox-full', 'soft', '5.0.0', 'exim'],
    ['exchange-2003-not-reached', 'hard', '5.1.1', 'exchange'],
    ['arf-abuse-complaint', 'complaint', 'complaint', 'arf'],
    ['outlook-automatic-reply', 'ignored', undefined, 'auto-reply'],
    ['vacation-reply', 'ignored', undefined, 'auto-reply'],
  ])('%s: %s', async (name, cls, status, source) => {
    const message = await readMessage(bounceFixture(name, values));
    const { verdict, keys } = analyse(message, BOUNCE);
    expect({ class: verdict.class, status: verdict.status, source: verdict.source }).toEqual({ class: cls, status, source });
    expect(keys.tags).toEqual([tag]);
    if (cls !== 'ignored') {
      expect(verdict.recipient).toBe('dana@example.org');
      // An Exchange 2003 text NDR returns no copy: there is no Message-ID to quote.
      expect(keys.messageId).toBe(name === 'exchange-2003-not-reached' ? undefined : '<mq1.abc123@almanac.example>');
    }
  });

  test('the ignored ones say why', async () => {
    const why = async (name: string) => analyse(await readMessage(bounceFixture(name, values)), BOUNCE).verdict.why;
    expect(await why('postfix-delayed')).toMatch(/delay warning \(4\.4\.1\)/);
    expect(await why('outlook-automatic-reply')).toMatch(/auto-reply \(Auto-Submitted: auto-replied\)/);
    expect(await why('vacation-reply')).toMatch(/auto-reply \(an X-Autoreply/);
  });

  test('an ARF report of another feedback type is not a complaint', async () => {
    const raw = bounceFixture('arf-abuse-complaint', values).replace('Feedback-Type: abuse', 'Feedback-Type: not-spam');
    const { verdict } = analyse(await readMessage(raw), BOUNCE);
    expect(verdict.class).toBe('ignored');
    expect(verdict.why).toMatch(/not-spam/);
  });

  test('a DSN that reports delivery is ignored', async () => {
    const raw = bounceFixture('postfix-user-unknown', values).replace('Action: failed', 'Action: delivered').replace('Status: 5.1.1', 'Status: 2.0.0');
    const { verdict } = analyse(await readMessage(raw), BOUNCE);
    expect(verdict).toMatchObject({ class: 'ignored', why: 'delivery report: Action delivered' });
  });

  test('a person writing back is not a bounce', async () => {
    const raw = 'From: Dana <dana@example.org>\r\nTo: news@almanac.example\r\nSubject: Re: Midweek\r\n\r\nLoved this week\'s edition.\r\n';
    const { verdict } = analyse(await readMessage(raw), BOUNCE);
    expect(verdict).toMatchObject({ class: 'ignored', source: 'other' });
  });

  test.each([
    ['', /empty/],
    ['{"event":"bounce"}\n', /header field/],
    ['Hello: there\n\nno known headers\n', /no From, To/],
    ['From: a@b.example\r\nSub\u0000ject: x\r\n\r\n', /binary/],
  ])('not a message: %j', async (raw, message) => {
    await expect(readMessage(raw)).rejects.toThrow(NotAMessageError);
    await expect(readMessage(raw)).rejects.toThrow(message);
  });
});

describe('the failure rules', () => {
  test.each([
    ['5.1.1', '550 5.1.1 user unknown', 'hard'],
    ['5.1.10', '550 5.1.10 RESOLVER.ADR.RecipientNotFound', 'hard'],
    ['5.0.0', '550 5.1.1 <x@example.org>: Recipient address rejected', 'hard'],
    ['5.0.0', '550 Requested action not taken: mailbox unavailable', 'hard'],
    ['5.4.1', '550 5.4.1 Recipient address rejected: Access denied. AS(201806281)', 'hard'],
    ['5.2.1', '550 5.2.1 The email account that you tried to reach is disabled', 'hard'],
    ['5.2.2', '552 5.2.2 The email account that you tried to reach is over quota', 'soft'],
    ['4.2.2', '452 4.2.2 Mailbox full', 'soft'],
    ['4.4.7', 'delivery time expired', 'soft'],
    ['5.0.0', '552 1 Requested mail action aborted, mailbox full', 'soft'],
    ['5.7.1', '550 5.7.1 Message rejected as spam by Content Filtering', 'failed'],
    ['5.7.26', '550 5.7.26 Unauthenticated email is not accepted due to DMARC policy', 'failed'],
    ['5.3.4', '552 5.3.4 Message size exceeds fixed limit', 'failed'],
    ['5.0.0', '554 something went wrong', 'soft'],
    [undefined, 'Sorry, no mailbox here by that name.', 'hard'],
  ])('%s %s → %s', (status, diagnostic, cls) => {
    expect(classifyFailure(status, diagnostic).class).toBe(cls);
  });
});
