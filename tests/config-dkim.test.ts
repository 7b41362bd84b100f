import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.ts';
import { almanac } from './cli.ts';
import { tempDir } from './helpers.ts';

const rsaPem = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const edPem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const ecPem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
/** PEM armour around garbage: what a truncated copy-and-paste looks like. */
const malformedPem = '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7secretsecret\n-----END PRIVATE KEY-----\n';

const rsa = { DKIM_DOMAIN: 'almanac.example', DKIM_SELECTOR: 'news2026', DKIM_PRIVATE_KEY: rsaPem };

/** The ConfigError loadConfig throws for `env` (fails the test if it does not throw one). */
function configError(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error(`expected a ConfigError for ${Object.keys(env).join(', ')}`);
}

describe('DKIM configuration', () => {
  test('a valid RSA key, as PEM text or as a path, signs; the Ed25519 pair adds a second key', () => {
    expect(loadConfig(rsa).dkim).toEqual({ domainName: 'almanac.example', keySelector: 'news2026', privateKey: rsaPem });
    const file = join(tempDir('almanac-dkim-'), 'dkim.pem');
    writeFileSync(file, rsaPem);
    expect(loadConfig({ ...rsa, DKIM_PRIVATE_KEY: file }).dkim?.privateKey).toBe(rsaPem);
    const both = loadConfig({ ...rsa, DKIM_ED25519_SELECTOR: 'ed2026', DKIM_ED25519_PRIVATE_KEY: edPem });
    expect(both.dkim?.ed25519).toEqual({ keySelector: 'ed2026', privateKey: edPem });
    expect(loadConfig({}).dkim).toBeUndefined();
  });

  test.each([
    [{ DKIM_DOMAIN: 'almanac.example' }, /DKIM_SELECTOR and DKIM_PRIVATE_KEY not set/],
    [{ DKIM_DOMAIN: 'almanac.example', DKIM_PRIVATE_KEY: rsaPem }, /DKIM_SELECTOR not set/],
    [{ DKIM_SELECTOR: 'news2026', DKIM_PRIVATE_KEY: rsaPem }, /DKIM_DOMAIN not set/],
    [{ DKIM_DOMAIN: 'almanac.example', DKIM_SELECTOR: 'news2026' }, /DKIM_PRIVATE_KEY not set/],
    [{ ...rsa, DKIM_ED25519_PRIVATE_KEY: edPem }, /DKIM_ED25519_SELECTOR not set/],
    [{ ...rsa, DKIM_ED25519_SELECTOR: 'ed2026' }, /DKIM_ED25519_PRIVATE_KEY not set/],
    [{ DKIM_ED25519_SELECTOR: 'ed2026', DKIM_ED25519_PRIVATE_KEY: edPem }, /^DKIM_ED25519_PRIVATE_KEY: expected beside an RSA key/],
  ])('all set or all unset: %# names what is missing', (env, expected) => {
    expect(configError(env as Record<string, string>)).toMatch(expected);
  });

  test.each([
    ['malformed PEM text', { ...rsa, DKIM_PRIVATE_KEY: malformedPem }, /^DKIM_PRIVATE_KEY: expected an RSA private key .*does not parse/],
    ['an Ed25519 key where the RSA key goes', { ...rsa, DKIM_PRIVATE_KEY: edPem }, /^DKIM_PRIVATE_KEY: .*found a private key of type ed25519/],
    ['an EC key', { ...rsa, DKIM_PRIVATE_KEY: ecPem }, /^DKIM_PRIVATE_KEY: .*found a private key of type ec/],
    ['a malformed Ed25519 key', { ...rsa, DKIM_ED25519_SELECTOR: 'ed', DKIM_ED25519_PRIVATE_KEY: malformedPem }, /^DKIM_ED25519_PRIVATE_KEY: expected an Ed25519 private key .*does not parse/],
    ['an RSA key where the Ed25519 key goes', { ...rsa, DKIM_ED25519_SELECTOR: 'ed', DKIM_ED25519_PRIVATE_KEY: rsaPem }, /^DKIM_ED25519_PRIVATE_KEY: .*type rsa/],
    ['a missing key file', { ...rsa, DKIM_PRIVATE_KEY: './keys/nope.pem' }, /^DKIM_PRIVATE_KEY: .*the path "\.\/keys\/nope\.pem" \(neither PEM text nor an existing file\)/],
    ['a key pasted without its PEM armour', { ...rsa, DKIM_PRIVATE_KEY: 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7secret' }, /^DKIM_PRIVATE_KEY: .*a value that is not shown/],
  ])('a bad key stops the program: %s', (_what, env, expected) => {
    const message = configError(env);
    expect(message).toMatch(expected);
    expect(message).not.toContain('secret');
    expect(message).not.toContain('\n');
  });

  test('a 512-bit RSA key is refused (verifiers ignore signatures made with it)', () => {
    const weak = generateKeyPairSync('rsa', { modulusLength: 512 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    expect(configError({ ...rsa, DKIM_PRIVATE_KEY: weak })).toMatch(/^DKIM_PRIVATE_KEY: .*at least 1024 bits .*found 512 bits/);
  });

  test('a malformed DKIM key stops `almanac send` at start: exit 2, naming DKIM_PRIVATE_KEY, never printing the key', async () => {
    const dir = tempDir('almanac-dkim-cli-');
    const env = {
      ALMANAC_DB: join(dir, 'almanac.db'),
      ALMANAC_OUTBOX: join(dir, 'outbox'),
      ALMANAC_SECRET: 'cli-test-secret-0123456789',
      DKIM_DOMAIN: 'almanac.example',
      DKIM_SELECTOR: 'news2026',
      DKIM_PRIVATE_KEY: malformedPem,
    };
    const result = await almanac(['send', 'sunday', '--date', '2026-11-22', '--dry-run'], env);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('configuration error: DKIM_PRIVATE_KEY');
    expect(result.stderr + result.stdout).not.toContain('secretsecret');
    const ed = await almanac(['send', 'sunday', '--date', '2026-11-22', '--dry-run'], {
      ...env,
      DKIM_PRIVATE_KEY: rsaPem,
      DKIM_ED25519_SELECTOR: 'ed2026',
      DKIM_ED25519_PRIVATE_KEY: malformedPem,
    });
    expect(ed.code).toBe(2);
    expect(ed.stderr).toContain('configuration error: DKIM_ED25519_PRIVATE_KEY');
    expect(ed.stderr + ed.stdout).not.toContain('secretsecret');
  }, 60_000);
});
