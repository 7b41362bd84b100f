import { describe, expect, test } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.ts';

describe('bounce configuration', () => {
  test('defaults: nothing runs, every webhook refuses', () => {
    expect(loadConfig({}).bounce).toEqual({
      address: undefined,
      smtpPort: undefined,
      smtpHost: '0.0.0.0',
      imapUrl: undefined,
      imapPollMs: 300_000,
      mailgunSigningKey: undefined,
      postmarkAuth: undefined,
      sesTopicArns: [],
    });
  });

  test('values are read and normalised', () => {
    const c = loadConfig({
      ALMANAC_BOUNCE_ADDRESS: 'Bounces@Bounces.Almanac.Example',
      ALMANAC_BOUNCE_SMTP_PORT: '2525',
      ALMANAC_BOUNCE_IMAP_URL: 'imaps://u%40x.example:p%2Fw@imap.example.com/Bounces',
      ALMANAC_BOUNCE_IMAP_POLL_MINUTES: '1',
      SES_SNS_TOPIC_ARN: 'arn:aws:sns:eu-west-1:123456789012:a, arn:aws:sns:us-east-1:123456789012:b',
    });
    expect(c.bounce).toMatchObject({ address: 'bounces@bounces.almanac.example', smtpPort: 2525, imapPollMs: 60_000 });
    expect(c.bounce.sesTopicArns).toEqual(['arn:aws:sns:eu-west-1:123456789012:a', 'arn:aws:sns:us-east-1:123456789012:b']);
  });

  test.each([
    ['ALMANAC_BOUNCE_ADDRESS', 'bounces+x@bounces.almanac.example', /without "\+"/],
    ['ALMANAC_BOUNCE_ADDRESS', 'not an address', /bare address/],
    ['ALMANAC_BOUNCE_SMTP_PORT', '70000', /TCP port/],
    ['ALMANAC_BOUNCE_IMAP_URL', 'https://imap.example.com/INBOX', /imaps:\/\//],
    ['ALMANAC_BOUNCE_IMAP_POLL_MINUTES', '0', /minutes between IMAP checks/],
    ['POSTMARK_WEBHOOK_AUTH', 'no-colon', /user:pass/],
    ['SES_SNS_TOPIC_ARN', 'my-topic', /ARN of the SNS topic/],
  ])('%s=%s is refused naming the variable', (name, value, expected) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`^${name}: expected .*${expected.source}`));
  });
});
