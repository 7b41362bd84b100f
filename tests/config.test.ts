import { describe, expect, test } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.ts';

describe('configuration', () => {
  test('defaults match DESIGN.md', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      contentDir: './content',
      dbPath: './data/almanac.db',
      timezone: 'UTC',
      outboxDir: './outbox',
      baseUrl: 'http://localhost:3000',
      port: 3000,
      schedule: { midweek: { weekday: 3, hour: 7, minute: 0 }, sunday: { weekday: 0, hour: 8, minute: 0 } },
      catchUpGraceMs: 6 * 3_600_000,
    });
    expect(c.smtp.url).toBeUndefined();
    expect(c.secret).toBeUndefined();
  });

  test.each([
    ['ALMANAC_TIMEZONE', 'Nowhere/Land', /IANA time zone/],
    ['ALMANAC_BASE_URL', 'localhost:3000', /absolute http\(s\) URL/],
    ['SMTP_URL', 'http://mail.example', /smtp:\/\//],
    ['PORT', 'eighty', /TCP port/],
    ['ALMANAC_MIDWEEK_AT', 'wednesday 7am', /weekday and local time/],
    ['SMTP_MAX_CONNECTIONS', '0', /integer 1–100/],
    ['SMTP_TLS_VERIFY', 'yes', /auto .*, true or false/],
    ['ALMANAC_TRUST_PROXY', '-1', /reverse proxies/],
  ])('a bad %s names the variable, what was expected and what was found', (name, value, expected) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    try {
      loadConfig({ [name]: value });
    } catch (error) {
      const message = (error as Error).message;
      expect(message.startsWith(`${name}: expected`)).toBe(true);
      expect(message).toMatch(expected);
      expect(message).toContain(JSON.stringify(value));
      expect(message).not.toContain('\n');
    }
  });

  test('send times and smtp settings are parsed', () => {
    const c = loadConfig({ ALMANAC_MIDWEEK_AT: 'Thu 18:30', SMTP_URL: 'smtps://u:p@mail.example:465', SMTP_RATE_LIMIT: '12.5', ALMANAC_FROM: 'Almanac <news@Mail.Example.org>' });
    expect(c.schedule.midweek).toEqual({ weekday: 4, hour: 18, minute: 30 });
    expect(c.smtp.url).toBe('smtps://u:p@mail.example:465');
    expect(c.smtp.rateLimit).toBe(12.5);
    expect(c.mailDomain).toBe('mail.example.org');
    expect(c.replyTo).toBe(c.from);
  });

  test('DKIM needs all three variables', () => {
    expect(() => loadConfig({ DKIM_DOMAIN: 'almanac.example' })).toThrow(/all three or none/);
  });
});
