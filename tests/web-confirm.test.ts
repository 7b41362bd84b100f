import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createTransport } from '../src/delivery/create-transport.ts';
import type { Transport } from '../src/delivery/transport.ts';
import type { DialectName, Store } from '../src/store/handle.ts';
import { SubscriberStore } from '../src/store/subscribers.ts';
import { createWebServer } from '../src/web/server.ts';
import { testConfig } from './helpers.ts';
import { subscribeByForm } from './web-fixtures.ts';
import { startSmtpServer, type TestSmtpServer } from './smtp.ts';
import { confirmRequest } from '../src/store/confirm.ts';
import { describeEachDb, describeEachDbShared, freshStore, handles } from './store-db.ts';

let smtp: TestSmtpServer;
let db: Store;
let transport: Transport;
let server: Server;
let origin: string;
let store: SubscriberStore;
let now = new Date('2026-11-25T10:00:00Z');

describeEachDbShared('confirmation links', (dialect: DialectName) => {
  beforeAll(async () => {
    now = new Date('2026-11-25T10:00:00Z');
    smtp = await startSmtpServer();
    const config = testConfig({ ALMANAC_BASE_URL: 'https://almanac.test', SMTP_URL: smtp.url, ALMANAC_SECRET: 'test-secret-of-enough-length' });
    db = (await freshStore(dialect)).store;
    transport = createTransport(config);
    server = await createWebServer({ config, store: db, transport, contentDir: '.', clock: () => now, subscribeRateLimit: { limit: 1000, windowMs: 600_000 }, log: () => {} });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    store = new SubscriberStore(db);
  });

  afterAll(async () => {
    await new Promise((r) => server.close(r));
    await transport.close();
    await smtp.close();
  });

  const subscribe = (email: string, editions: string[]) => subscribeByForm({ origin, server, smtp }, email, editions);

  describe('a confirmation link confirms only the request it was sent for', () => {
    test('an older link does not confirm a newer pending request for other editions; the newer link does', async () => {
      const older = await subscribe('twice@example.com', ['midweek']);
      now = new Date(now.getTime() + 6 * 60_000); // past the 5-minute resend interval: a second email goes out
      const newer = await subscribe('twice@example.com', ['sunday']);
      expect(newer).toBeDefined();
      expect(newer).not.toBe(older);
      const id = (await store.findByEmail('twice@example.com'))!.id;

      const stale = await fetch(older!);
      expect(stale.status).toBe(409);
      expect(await stale.text()).toContain('This link is for an earlier request');
      expect(await store.get(id)).toMatchObject({ status: 'pending', midweek: false, sunday: true, consent: { confirmedAt: null } });

      const fresh = await fetch(newer!);
      expect(fresh.status).toBe(200);
      expect(await fresh.text()).toContain('You are subscribed');
      expect(await store.get(id)).toMatchObject({ status: 'active', midweek: false, sunday: true });

      // Once active, the older link changes nothing either.
      expect((await fetch(older!)).status).toBe(200);
      expect(await store.get(id)).toMatchObject({ status: 'active', midweek: false, sunday: true });
    });

    test('a change of editions inside the resend interval sends no new email, and the first link does not confirm it', async () => {
      const first = await subscribe('quick@example.com', ['midweek', 'sunday']);
      now = new Date(now.getTime() + 60_000);
      expect(await subscribe('quick@example.com', ['midweek'])).toBeUndefined();
      expect((await fetch(first!)).status).toBe(409);
      expect(await store.findByEmail('quick@example.com')).toMatchObject({ status: 'pending', midweek: true, sunday: false });
    });

    test('the same request made again is confirmed by either link', async () => {
      const first = await subscribe('same@example.com', ['midweek', 'sunday']);
      now = new Date(now.getTime() + 6 * 60_000);
      await subscribe('same@example.com', ['midweek', 'sunday']);
      expect((await fetch(first!)).status).toBe(200);
      expect(await store.findByEmail('same@example.com')).toMatchObject({ status: 'active', midweek: true, sunday: true });
    });
  });
});

describeEachDb('confirming is atomic against a changed request on another web server', (dialect) => {
  test('an older link racing a form submission for other editions never activates the newer request', async () => {
    const { store: first, target } = await freshStore(dialect);
    // Two handles as two web servers hold them (PostgreSQL: two pools, truly concurrent).
    const [a, b] = await handles(dialect, first, target, 2);
    let now = new Date('2026-11-25T10:00:00Z');
    const clock = () => now;
    const onA = new SubscriberStore(a!, clock);
    const onB = new SubscriberStore(b!, clock);
    const outcomes = new Set<string>();
    for (let i = 0; i < 25; i++) {
      const email = `race${i}@example.com`;
      const { subscriber } = await onA.subscribe({ email, editions: ['midweek'], ip: null, wording: 'v1-2026-11' });
      now = new Date(now.getTime() + 6 * 60_000);
      const [confirmed] = await Promise.all([
        confirmRequest(a!, subscriber!.id, ['midweek'], clock),
        onB.subscribe({ email, editions: ['sunday'], ip: null, wording: 'v1-2026-11' }),
      ]);
      outcomes.add(confirmed.result);
      const after = (await onA.get(subscriber!.id))!;
      // Either the link won (active for Midweek, the later submission leaves an active subscriber alone)
      // or the submission won (pending for Sunday, the link confirmed nothing). Never active for Sunday.
      if (confirmed.result === 'confirmed') expect(after).toMatchObject({ status: 'active', midweek: true, sunday: false });
      else expect(after).toMatchObject({ status: 'pending', midweek: false, sunday: true });
    }
    expect([...outcomes].every((o) => o === 'confirmed' || o === 'replaced')).toBe(true);
  });
});
