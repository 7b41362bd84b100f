import { spawn } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { startWebServer, type RunningWebServer } from '../src/web/start.ts';
import { ConfigError, loadConfig } from '../src/config.ts';
import type { DialectName } from '../src/store/handle.ts';
import { openStore } from '../src/store/open.ts';
import { SubscriberStore } from '../src/store/subscribers.ts';
import { almanac } from './cli.ts';
import { tempDir, testConfig } from './helpers.ts';
import { describeEachDb, freshTarget } from './store-db.ts';

const running: RunningWebServer[] = [];

afterEach(async () => {
  for (const web of running.splice(0)) await web.close();
});

async function serve(env: Record<string, string>, host?: string, dialect: DialectName = 'sqlite'): Promise<{ web: RunningWebServer; origin: string; dbPath: string }> {
  const dir = tempDir();
  const dbPath = await freshTarget(dialect);
  const config = testConfig({ ALMANAC_DB: dbPath, ALMANAC_OUTBOX: join(dir, 'outbox'), ALMANAC_SECRET: 'test-secret-of-enough-length', ...env });
  const web = await startWebServer(config, { port: 0, host, contentDir: 'content' });
  running.push(web);
  const { address, family, port } = web.server.address() as AddressInfo;
  return { web, origin: family === 'IPv6' ? `http://[${address}]:${port}` : `http://${address}:${port}`, dbPath };
}

/** A subscribe POST that the server refuses as invalid (400) unless the rate limit refuses it first (429). */
function post(origin: string, forwardedFor?: string): Promise<number> {
  return fetch(`${origin}/subscribe`, {
    method: 'POST',
    headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor },
    body: new URLSearchParams({ email: 'not-an-address' }),
  }).then(async (r) => {
    await r.text();
    return r.status;
  });
}

/** Subscribes `email` and returns the address the server recorded as the visitor's (the consent record). */
async function recordedAddress(origin: string, dbPath: string, email: string, forwardedFor: string): Promise<string | null> {
  const res = await fetch(`${origin}/subscribe`, { method: 'POST', headers: { 'x-forwarded-for': forwardedFor }, body: new URLSearchParams({ email }) });
  expect(res.status).toBe(200);
  await res.text();
  const store = await openStore(dbPath);
  try {
    return (await new SubscriberStore(store).findByEmail(email))?.consent.ip ?? null;
  } finally {
    await store.close();
  }
}

describe('bind address: ALMANAC_HOST and serve --host', () => {
  test('the default stays 0.0.0.0; ALMANAC_HOST sets it; a bad value names the variable', () => {
    expect(loadConfig({}).host).toBe('0.0.0.0');
    expect(loadConfig({ ALMANAC_HOST: '127.0.0.1' }).host).toBe('127.0.0.1');
    expect(() => loadConfig({ ALMANAC_HOST: 'not a host!' })).toThrow(ConfigError);
    expect(() => loadConfig({ ALMANAC_HOST: 'not a host!' })).toThrow(/^ALMANAC_HOST: expected an address to listen on/);
  });

  test('the web server listens on ALMANAC_HOST', async () => {
    const v4 = await serve({ ALMANAC_HOST: '127.0.0.1' });
    expect((v4.web.server.address() as AddressInfo).address).toBe('127.0.0.1');
    expect((await fetch(`${v4.origin}/healthz`)).status).toBe(200);
    const v6 = await serve({ ALMANAC_HOST: '::1' });
    expect((v6.web.server.address() as AddressInfo).address).toBe('::1');
    expect(v6.web.url).toMatch(/^http:\/\/\[::1\]:\d+$/);
    expect((await fetch(`${v6.origin}/healthz`)).status).toBe(200);
  });

  test('`serve --host 127.0.0.1` listens there and says so; a bad --host is a usage error', async () => {
    const dir = tempDir();
    const child = spawn(process.execPath, ['scripts/almanac.mjs', 'serve', '--host', '127.0.0.1', '--port', '0'], {
      env: { ...process.env, ALMANAC_DB: join(dir, 'a.db'), ALMANAC_OUTBOX: join(dir, 'outbox'), ALMANAC_HOST: '::1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          if (out.includes('\n')) resolve(out);
        });
        child.once('exit', (code) => reject(new Error(`serve exited ${code} before listening`)));
      });
      const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(line)?.[1];
      expect(url, line).toBeDefined();
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
    } finally {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    const bad = await almanac(['serve', '--host', 'no such host!', '--port', '0'], { ALMANAC_DB: join(dir, 'b.db') });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--host: expected an address to listen on');
    const badStart = await almanac(['start', '--host', 'no such host!'], { ALMANAC_DB: join(dir, 'c.db') });
    expect(badStart.code).toBe(2);
    expect(badStart.stderr).toContain('--host: expected an address to listen on');
  });
});

describeEachDb('X-Forwarded-For is believed only from the proxies the operator lists', (dialect) => {
  test('ALMANAC_TRUST_PROXY takes addresses and CIDR ranges (IPv4 and IPv6) or a count; anything else names the entry', () => {
    expect(loadConfig({}).trustProxy).toEqual({ hops: 0 });
    expect(loadConfig({ ALMANAC_TRUST_PROXY: '1' }).trustProxy).toEqual({ hops: 1 });
    expect(loadConfig({ ALMANAC_TRUST_PROXY: '127.0.0.1, 10.0.0.0/8,::1,fd00::/8' }).trustProxy).toEqual({ proxies: ['127.0.0.1', '10.0.0.0/8', '::1', 'fd00::/8'] });
    for (const bad of ['nginx', '10.0.0.0/33', '::1/129', '127.0.0.1,', '11', '1.2.3.4/8/2']) {
      expect(() => loadConfig({ ALMANAC_TRUST_PROXY: bad }), bad).toThrow(/^ALMANAC_TRUST_PROXY: expected the reverse proxies .* found/);
    }
  });

  test('from a listed proxy the visitor is the forwarded address; a forged entry in front changes nothing', async () => {
    const { origin, dbPath } = await serve({ ALMANAC_TRUST_PROXY: '10.0.0.0/8, 127.0.0.1' }, undefined, dialect);
    // Six visitors through the proxy: each has its own allowance of five.
    for (let i = 1; i <= 6; i++) expect(await post(origin, `203.0.113.${i}`)).toBe(400);
    // One visitor six times; the last time the client wrote an address of its own choosing in front.
    for (let i = 0; i < 5; i++) expect(await post(origin, '198.51.100.7')).toBe(400);
    expect(await post(origin, '192.0.2.99, 198.51.100.7')).toBe(429);
    // Through two listed proxies (an inner one in 10.0.0.0/8): the visitor is the entry before them.
    expect(await recordedAddress(origin, dbPath, 'chain@example.com', '192.0.2.1, 198.51.100.20, 10.1.2.3')).toBe('198.51.100.20');
  });

  test('a client reaching the server directly cannot pick its own address', async () => {
    // The proxy is listed, but this client (127.0.0.1) is not it: its header is not read.
    const { origin, dbPath } = await serve({ ALMANAC_TRUST_PROXY: '10.0.0.0/8,fd00::/8' }, undefined, dialect);
    for (let i = 1; i <= 5; i++) expect(await post(origin, `203.0.113.${i}`)).toBe(400);
    expect(await post(origin, '203.0.113.6')).toBe(429);
    const other = await serve({ ALMANAC_TRUST_PROXY: '10.0.0.1' }, undefined, dialect);
    expect(await recordedAddress(other.origin, other.dbPath, 'direct@example.com', '198.51.100.9')).toBe('127.0.0.1');
    expect(dbPath).not.toBe(other.dbPath);
  });

  test('an IPv6 proxy on ::1 is listed like any other', async () => {
    const { origin, dbPath } = await serve({ ALMANAC_TRUST_PROXY: '::1' }, '::1', dialect);
    expect(await recordedAddress(origin, dbPath, 'six@example.com', '2001:db8::7')).toBe('2001:db8::7');
  });

  test('the count form still works: the visitor is that many entries from the socket end', async () => {
    const { origin, dbPath } = await serve({ ALMANAC_TRUST_PROXY: '1' }, undefined, dialect);
    expect(await recordedAddress(origin, dbPath, 'count@example.com', '192.0.2.99, 198.51.100.7')).toBe('198.51.100.7');
  });
});

describe('the subscribe rate limit counts IPv6 visitors per /64', () => {
  test('addresses in one /64 share an allowance; another /64 has its own', async () => {
    const { origin } = await serve({ ALMANAC_TRUST_PROXY: '127.0.0.1' });
    for (let i = 1; i <= 5; i++) expect(await post(origin, `2001:db8:1:2::${i}`)).toBe(400);
    expect(await post(origin, '2001:db8:1:2:ffff:ffff:ffff:ffff')).toBe(429);
    expect(await post(origin, '2001:db8:1:3::1')).toBe(400);
  });
});
