import { generateKeyPairSync } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, test } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { errorText, jsonLogger } from '../src/log.ts';
import { clearSecrets, redact, redactUrl } from '../src/redact.ts';
import { almanac } from './cli.ts';
import { EDITION_DATE, fixtureContent } from './delivery-fixtures.ts';
import { tempDir } from './helpers.ts';
import { startSmtpServer } from './smtp.ts';

// A key-shaped value (not a real key): what a DKIM key pasted without its BEGIN line looks like.
const KEY_BODY = 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7Vx3aQz9Ez+Z2vF4tqfGm';

/** A config error from the real CLI; the database is never reached. */
async function configError(env: Record<string, string>) {
  const dir = tempDir('almanac-secrets-');
  const result = await almanac(['subscribers', 'list'], { ALMANAC_DB: `${dir}/almanac.db`, ...env });
  expect(result.code).toBe(2);
  expect(result.stderr).toMatch(/configuration error/);
  return `${result.stdout}${result.stderr}`;
}

describe('secrets are never printed', () => {
  afterEach(clearSecrets);

  test('a configuration error about SMTP_URL shows the URL with the password replaced', async () => {
    // The '/' in the password makes the URL invalid: the error must still not show the password.
    const output = await configError({ SMTP_URL: 'smtp://mailer:ab/cd@host' });
    expect(output).toContain('SMTP_URL');
    expect(output).toContain('smtp://mailer:***@host');
    expect(output).toMatch(/percent-encode/);
    expect(output).not.toContain('ab/cd');
    expect(output).not.toContain(':ab');
  });

  test('a configuration error about ALMANAC_SECRET never echoes its value', async () => {
    const output = await configError({ ALMANAC_SECRET: 'sh0rt-s3cret' });
    expect(output).toContain('ALMANAC_SECRET: expected at least 16 characters, found a value of 12 characters (not shown)');
    expect(output).not.toContain('sh0rt-s3cret');
  });

  test('a DKIM key that is neither a PEM block nor a file is not echoed', async () => {
    const output = await configError({ DKIM_DOMAIN: 'almanac.example', DKIM_SELECTOR: 's1', DKIM_PRIVATE_KEY: KEY_BODY });
    expect(output).toContain('DKIM_PRIVATE_KEY');
    expect(output).not.toContain(KEY_BODY.slice(0, 12));
  });

  test('a DKIM key path that does not exist is named (a path is not a secret)', async () => {
    const output = await configError({ DKIM_DOMAIN: 'almanac.example', DKIM_SELECTOR: 's1', DKIM_PRIVATE_KEY: '/etc/almanac/missing-dkim.pem' });
    expect(output).toContain('found the path "/etc/almanac/missing-dkim.pem" (neither PEM text nor an existing file)');
  });

  test('a send whose relay refuses the password prints neither the password nor the URL with it', async () => {
    const smtp = await startSmtpServer({ auth: { user: 'mailer', pass: 'right-password' } });
    try {
      const dir = tempDir('almanac-secrets-');
      const env = {
        ALMANAC_DB: `${dir}/almanac.db`,
        ALMANAC_CONTENT_DIR: fixtureContent(),
        ALMANAC_SECRET: 'secrets-test-secret-0123456789',
        SMTP_URL: `smtp://mailer:wr0ng%2Fpass@127.0.0.1:${smtp.port}`,
        SMTP_RETRY_BACKOFF_MS: '5',
      };
      expect((await almanac(['subscribers', 'add', 'reader@example.org'], env)).code).toBe(0);
      const sent = await almanac(['send', 'midweek', '--date', EDITION_DATE], env);
      expect(sent.code).toBe(1);
      const output = `${sent.stdout}${sent.stderr}`;
      expect(output).toMatch(/credentials in SMTP_URL/);
      expect(output).not.toMatch(/wr0ng/);
    } finally {
      await smtp.close();
    }
  });

  test("send's JSON log lines mask secrets, even when a relay's reply repeats one", async () => {
    // A relay that quotes our password back in a rejection (it happens with misconfigured filters).
    const smtp = await startSmtpServer({
      auth: { user: 'mailer', pass: 'quoted-pa55' },
      onRcpt: () => ({ code: 550, message: 'rejected: policy quoted-pa55 mismatch' }),
    });
    try {
      const dir = tempDir('almanac-secrets-');
      const env = {
        ALMANAC_DB: `${dir}/almanac.db`,
        ALMANAC_CONTENT_DIR: fixtureContent(),
        ALMANAC_SECRET: 'secrets-test-secret-0123456789',
        SMTP_URL: `smtp://mailer:quoted-pa55@127.0.0.1:${smtp.port}`,
      };
      expect((await almanac(['subscribers', 'add', 'reader@example.org'], env)).code).toBe(0);
      const sent = await almanac(['send', 'midweek', '--date', EDITION_DATE], env);
      expect(sent.stderr).toMatch(/"event":"recipient.failed"/);
      expect(sent.stderr).toContain('rejected: policy *** mismatch');
      expect(`${sent.stdout}${sent.stderr}`).not.toContain('quoted-pa55');
    } finally {
      await smtp.close();
    }
  });

  test('log lines and error texts mask the configured secrets, URL passwords and private keys', () => {
    // DKIM keys are parsed at start, so this one is real; the masking must hide any line of it.
    const realPem = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    loadConfig({ SMTP_URL: 'smtp://mailer:pa%2Fss-word@mail.example:587', ALMANAC_SECRET: 'a-signing-secret-0123456789', DKIM_DOMAIN: 'almanac.example', DKIM_SELECTOR: 's1', DKIM_PRIVATE_KEY: realPem });
    const stream = new PassThrough();
    let out = '';
    stream.on('data', (c: Buffer) => (out += c.toString()));
    const log = jsonLogger(stream);
    log('run.stopped', {
      level: 'error',
      message: 'relay said: AUTH failed for pa/ss-word',
      url: 'smtp://mailer:pa%2Fss-word@mail.example:587',
      detail: 'token a-signing-secret-0123456789 rejected',
      key: realPem.split('\n')[1],
      error: new Error('cannot connect', { cause: new Error(`bad key ${realPem}`) }),
    });
    const line = JSON.parse(out) as Record<string, string>;
    expect(line.message).toBe('relay said: AUTH failed for ***');
    expect(line.url).toBe('smtp://mailer:***@mail.example:587');
    expect(line.detail).toBe('token *** rejected');
    expect(line.key).toBe('***');
    expect(line.error).toBe('cannot connect: caused by: bad key [PRIVATE KEY not shown]\n');
    expect(out).not.toMatch(/pa%2Fss|pa\/ss|signing-secret/);
    expect(out).not.toContain(realPem.split('\n')[1]);
    expect(errorText(new Error('x', { cause: new Error('postgres://app:hunter22@db/almanac refused') }))).toBe(
      'x: caused by: postgres://app:***@db/almanac refused',
    );
  });

  test.each([
    ['smtp://mailer:ab/cd@host', 'smtp://mailer:***@host'],
    ['smtps://u:p@ss@mail.example:465', 'smtps://u:***@mail.example:465'],
    ['smtp://mail.example:587', 'smtp://mail.example:587'],
    ['https://almanac.example/guides/a:b', 'https://almanac.example/guides/a:b'],
    ['postgres://app:pw@db:5432/almanac?sslmode=require', 'postgres://app:***@db:5432/almanac?sslmode=require'],
  ])('redactUrl(%s)', (url, shown) => {
    expect(redactUrl(url)).toBe(shown);
    expect(redact(`see "${url}" and mail bob@example.org`)).toBe(`see "${shown}" and mail bob@example.org`);
  });
});
