import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { DESK_ADMIN, DESK_NOW, seedDesk } from '../scripts/desk-seed.ts';
import type { Config } from '../src/config.ts';
import { composeEdition } from '../src/editions/edition-for.ts';
import { createSignInLink, spendSignInLink } from '../src/store/desk-sessions.ts';
import { archivedHtml, editionReport } from '../src/store/editions.ts';
import { addEditor } from '../src/store/editors.ts';
import { insertEngagementEvents, saveEditionLinks } from '../src/store/engagement.ts';
import type { Store } from '../src/store/handle.ts';
import { SubscriberStore } from '../src/store/subscribers.ts';
import { createWebServer } from '../src/web/server.ts';
import { startWebServer, type RunningWebServer } from '../src/web/start.ts';
import type { Transport } from '../src/delivery/transport.ts';
import { almanac } from './cli.ts';
import { csrfOf, DeskClient, send, signIn } from './desk-client.ts';
import { freePort, tempDir, testConfig, writeContent } from './helpers.ts';
import { startSmtpServer, type TestSmtpServer } from './smtp.ts';
import { describeEachDbShared, freshTarget, openTracked } from './store-db.ts';
import { insertEditions } from './web-fixtures.ts';

const SAM = 'sam@almanac.example';

describeEachDbShared('the desk’s pages', (dialect) => {
  let smtp: TestSmtpServer;
  let web: RunningWebServer;
  let store: Store;
  let config: Config;
  let env: Record<string, string>;
  let admin: DeskClient;
  let editor: DeskClient;

  beforeAll(async () => {
    smtp = await startSmtpServer();
    const target = await freshTarget(dialect);
    const base = { ALMANAC_DB: target, ALMANAC_CONTENT_DIR: resolve('content'), ALMANAC_TIMEZONE: 'Europe/London', ALMANAC_OUTBOX: join(tempDir(), 'outbox') };
    await seedDesk(testConfig(base)); // Ada (admin) and Sam (editor); the Sunday of 2026-11-22 sent through the outbox
    const port = await freePort();
    env = { ...base, SMTP_URL: smtp.url, ALMANAC_BASE_URL: `http://127.0.0.1:${port}` };
    config = testConfig(env);
    web = await startWebServer(config, { port, host: '127.0.0.1', clock: () => DESK_NOW });
    store = await openTracked(target);
    admin = new DeskClient(web.url);
    await signIn(admin, smtp, DESK_ADMIN.email);
    editor = new DeskClient(web.url);
    await signIn(editor, smtp, SAM);
  });

  afterAll(async () => {
    await web?.close();
    await smtp?.close();
  });

  test('the overview: coming editions with send time in ALMANAC_TIMEZONE and their news, the last sent with its outcome, subscribers and their growth, the scheduler', async () => {
    const page = await admin.get('/desk');
    expect(page.status).toBe(200);
    expect(page.headers['content-security-policy']).toBe(
      "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' https: data:; form-action 'self'; base-uri 'none'; frame-src 'self'; frame-ancestors 'none'",
    );
    expect(page.body).not.toMatch(/<script|<link rel="stylesheet"|src="http/);
    for (const [kind, date, at] of [['midweek', '2026-11-25', '2026-11-25 07:00 GMT'], ['sunday', '2026-11-29', '2026-11-29 08:00 GMT']] as const) {
      const { edition } = await composeEdition(kind, date, config);
      const row = new RegExp(`<a href="/desk/editions/${date}-${kind}">[^<]+</a></td><td>${at}</td><td><span class="state draft">draft</span></td><td class="n">${edition.news.length}</td><td class="lifecycle">not tracked yet</td>`);
      expect(page.body).toMatch(row);
    }
    const sent = (await editionReport(store, '2026-11-22-sunday'))!;
    expect(sent.counts.sent).toBeGreaterThan(40);
    expect(page.body).toMatch(new RegExp(`2026-11-22-sunday</span></td><td class="n">${sent.counts.sent}</td><td class="n">0</td><td class="n">0</td><td class="n">0</td><td class="n">0</td></tr>`));
    const counts = await new SubscriberStore(store).counts();
    expect(page.body).toContain(`<li>active: <strong>${counts.byStatus.active}</strong></li>`);
    expect(page.body).toContain(`<li>unsubscribed: <strong>${counts.byStatus.unsubscribed}</strong></li>`);
    // All 60 joined in the last 12 weeks; the 7 who unsubscribed and the one who bounced left in them.
    expect(page.body).toContain('aria-label="Subscribers who joined (up) and left (down) per week, last 12 weeks: 60 joined, 8 left"');
    expect(page.body).toContain('No scheduler runs in this web server’s process');
    expect(page.body).toContain(`${DESK_ADMIN.email} · test-copy · 2026-11-29-sunday`);
  });

  test('an edition page frames the copy exactly as `almanac preview` writes it, served sandboxed; a sent edition shows the copy it went out as and its report', async () => {
    const page = await admin.get('/desk/editions/2026-11-29-sunday');
    expect(page.status).toBe(200);
    expect(page.body).toContain('<iframe src="/desk/editions/2026-11-29-sunday/copy" title="Sunday No. 48 · 2026-11-29 at 375 px, as a subscriber gets it" width="375" sandbox>');
    expect(page.body).toContain('width="660" sandbox>');
    expect(page.body).toContain('All pre-send checks pass.');
    const copy = await admin.get('/desk/editions/2026-11-29-sunday/copy');
    expect(copy.headers['content-security-policy']).toMatch(/^sandbox; default-src 'none'; .*frame-ancestors 'self'$/);
    expect(copy.headers['x-frame-options']).toBe('SAMEORIGIN');
    const out = tempDir();
    const preview = await almanac(['preview', 'sunday', '--date', '2026-11-29', '--out', out], { ...env, ALMANAC_DB: join(out, 'unused.db') });
    expect(preview.code).toBe(0);
    expect(copy.body).toBe(readFileSync(join(out, '2026-11-29-sunday.html'), 'utf8'));
    expect((await send(`${web.url}/desk/editions/2026-11-29-sunday/copy`)).status).toBe(303); // not without a session

    const sentPage = await admin.get('/desk/editions/2026-11-22-sunday');
    expect(sentPage.body).toContain('<span class="state sent">sent</span>');
    expect(sentPage.body).toContain('<svg id="timeline-chart" role="img"');
    expect(sentPage.body).toContain('Engagement was not tracked for this edition');
    expect(sentPage.body).toMatch(/Run 1: started \d{4}-\d\d-\d\d \d\d:\d\d GMT, finished/);
    expect((await admin.get('/desk/editions/2026-11-22-sunday/copy')).body).toBe(await archivedHtml(store, '2026-11-22-sunday'));
    expect((await admin.get('/desk/editions/2026-11-30-sunday')).status).toBe(404); // a Monday: no such edition
  });

  test('send me a test copy: to the signed-in editor only, marked [TEST], in the audit log; refused without the CSRF token', async () => {
    const page = await editor.get('/desk/editions/2026-11-25-midweek');
    const before = smtp.messages.length;
    const audit = () => store.db.selectFrom('desk_audit').select(['actor', 'action', 'subject', 'detail']).where('action', '=', 'test-copy').where('subject', '=', '2026-11-25-midweek').execute();
    expect((await send(`${web.url}/desk/editions/2026-11-25-midweek/test-copy`, { form: { csrf: 'x' } })).status).toBe(403); // no session
    const forged = await editor.post('/desk/editions/2026-11-25-midweek/test-copy', { to: 'victim@example.com' });
    expect(forged.status).toBe(403);
    const wrong = await editor.post('/desk/editions/2026-11-25-midweek/test-copy', { csrf: csrfOf((await admin.get('/desk')).body) });
    expect(wrong.status).toBe(403); // another session's token
    await new Promise((r) => setTimeout(r, 200));
    expect(smtp.messages.length).toBe(before);
    expect(await audit()).toEqual([]);

    const sent = await editor.post('/desk/editions/2026-11-25-midweek/test-copy', { csrf: csrfOf(page.body), to: 'victim@example.com' });
    expect(sent).toMatchObject({ status: 303, headers: { location: '/desk/editions/2026-11-25-midweek?notice=test-sent' } });
    const copies = smtp.messages.slice(before);
    expect(copies.map((m) => m.to)).toEqual([[SAM]]);
    expect((await simpleParser(copies[0]!.raw)).subject).toMatch(/^\[TEST\] /);
    expect(await audit()).toEqual([{ actor: SAM, action: 'test-copy', subject: '2026-11-25-midweek', detail: expect.stringMatching(new RegExp(`^to ${SAM}, sent: 250`)) }]);
    expect((await editor.get('/desk/editions/2026-11-25-midweek?notice=test-sent')).body).toContain(`A test copy went to ${SAM}`);
  });

  test('an editor sees counts only: finding a subscriber, lifting a suppression and the editors page are for admins', async () => {
    const counts = await editor.get('/desk/subscribers');
    expect(counts.status).toBe(200);
    expect(counts.body).toContain('Finding a subscriber by address is for admins.');
    expect(counts.body).not.toContain('reader7@example.com');
    const find = await editor.get('/desk/subscribers?email=reader7%40example.com');
    expect(find.status).toBe(403);
    expect(find.body).not.toContain('suppression list');
    expect(find.body).not.toContain('state bounced');
    const lift = await editor.post('/desk/subscribers/unsuppress', { csrf: csrfOf(counts.body), email: 'reader7@example.com' });
    expect(lift.status).toBe(403);
    expect((await new SubscriberStore(store).findByEmail('reader7@example.com'))!.status).toBe('bounced');
    expect((await editor.get('/desk/editors')).status).toBe(403);
    expect((await editor.post('/desk/editors', { csrf: csrfOf(counts.body), email: 'me@example.com', role: 'admin' })).status).toBe(403);
    expect(await store.db.selectFrom('editors').select('email').where('email', '=', 'me@example.com').execute()).toEqual([]);
  });

  test('an admin finds a subscriber, lifts their bounce suppression (audit log, subscriber history) and manages editors; removing one ends their session', async () => {
    const found = await admin.get('/desk/subscribers?email=READER7%40example.com');
    expect(found.body).toContain('<span class="state bounced">bounced</span>');
    expect(found.body).toContain('on the suppression list (bounced)');
    const lifted = await admin.post('/desk/subscribers/unsuppress', { csrf: csrfOf(found.body), email: 'reader7@example.com' });
    expect(lifted).toMatchObject({ status: 303, headers: { location: '/desk/subscribers?email=reader7%40example.com&notice=lifted' } });
    const s = (await new SubscriberStore(store).findByEmail('reader7@example.com'))!;
    expect(s.status).toBe('active');
    expect(s.suppressionLifted).toEqual({ at: expect.any(String), by: 'operator', from: 'bounced' });
    const after = await admin.get('/desk/subscribers?email=reader7%40example.com&notice=lifted');
    expect(after.body).toContain('The suppression was lifted');
    expect(after.body).toContain(`${DESK_ADMIN.email} · unsuppress · lifted the bounced suppression; now active`);
    expect((await admin.post('/desk/subscribers/unsuppress', { csrf: csrfOf(after.body), email: 'reader7@example.com' })).headers.location).toMatch(/notice=not-suppressed$/);
    expect((await admin.get('/desk/subscribers?email=nobody%40example.com')).body).toContain('No subscriber has this address.');

    const editors = await admin.get('/desk/editors');
    expect((await admin.post('/desk/editors', { csrf: csrfOf(editors.body), email: 'New@Example.com', name: 'New', role: 'admin' })).headers.location).toBe('/desk/editors?notice=added');
    expect((await admin.post('/desk/editors/remove', { csrf: csrfOf(editors.body), email: DESK_ADMIN.email })).status).toBe(400); // not oneself
    expect((await editor.get('/desk')).status).toBe(200);
    expect((await admin.post('/desk/editors/remove', { csrf: csrfOf(editors.body), email: SAM })).headers.location).toBe('/desk/editors?notice=removed');
    expect((await editor.get('/desk')).status).toBe(303);
    const log = await store.db.selectFrom('desk_audit').select(['actor', 'action', 'subject']).where('action', 'like', 'editor-%').where('actor', '=', DESK_ADMIN.email).orderBy('id').execute();
    expect(log).toEqual([
      { actor: DESK_ADMIN.email, action: 'editor-add', subject: 'new@example.com' },
      { actor: DESK_ADMIN.email, action: 'editor-remove', subject: SAM },
    ]);
  });
});

/** A web server in this process on a fresh SQLite database with one signed-in editor; `get` fetches a desk page as them. */
async function oneEditorServer(env: Record<string, string>, extra: { health?: () => Record<string, unknown>; contentDir?: string } = {}) {
  const target = await freshTarget('sqlite');
  const db = await openTracked(target);
  const config = testConfig({ ALMANAC_DB: target, ALMANAC_TIMEZONE: 'Europe/London', ...env });
  await addEditor(db, { email: 'ed@example.com', role: 'editor' }, 'operator', DESK_NOW);
  const opened = (await spendSignInLink(db, (await createSignInLink(db, 'ed@example.com', DESK_NOW))!.token, DESK_NOW))!;
  // Nothing is mailed here: a transport that would say so.
  const transport = { kind: 'outbox', send: async () => ({ status: 'failed', code: 554, response: 'not in this test' }), close: async () => {} } as unknown as Transport;
  const server = await createWebServer({ config, store: db, transport, contentDir: extra.contentDir ?? 'content', clock: () => DESK_NOW, log: () => {}, health: extra.health });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return {
    db,
    get: (path: string) => send(`http://127.0.0.1:${port}${path}`, { cookie: `almanac-desk=${opened.sessionId}` }),
    close: () => new Promise((r) => server.close(r)),
  };
}

test('the overview shows the scheduler of its process, as /healthz knows it', async () => {
  const health = () => ({ running: true, timezone: 'Europe/London', next: { midweek: '2026-11-25T07:00:00.000Z' }, last: { sunday: { edition: '2026-11-22-sunday', outcome: 'sent', at: '2026-11-22T08:03:00.000Z' } }, error: null });
  const desk = await oneEditorServer({}, { health });
  try {
    const page = await desk.get('/desk');
    expect(page.body).toContain('Scheduler in this process: <strong>running</strong>');
    expect(page.body).toContain('<li>midweek: 2026-11-25 07:00 GMT</li>');
    expect(page.body).toContain('<li>sunday: 2026-11-22-sunday sent at 2026-11-22 08:03 GMT</li>');
  } finally {
    await desk.close();
  }
});

test('with tracking on, the last sent editions show human clicks (machine clicks apart) and the edition page the clicks chart', async () => {
  const desk = await oneEditorServer({ ALMANAC_TRACKING: 'clicks' });
  try {
    const id = '2026-11-22-sunday';
    await insertEditions(desk.db, [[id, 'sunday', 47, '2026-11-22T08:00:00.000Z', 'Sunday with clicks', 'P', '<html><body>x</body></html>', 'sent']]);
    await desk.db.db.insertInto('deliveries').values({ edition_id: id, subscriber_id: 1, email: 'a@example.com', state: 'sent', attempts: 1, last_reply: '250', message_id: '<1@x>', created_at: '2026-11-22T08:00:01.000Z', updated_at: '2026-11-22T08:00:01.000Z' }).execute();
    await saveEditionLinks(desk.db, id, [{ link: 1, url: 'https://news.example/a', kind: 'news', label: 'Story A' }]);
    const event = (cls: 'human' | 'machine') => ({ edition_id: id, link: 1, type: 'click' as const, class: cls, reason: cls === 'machine' ? 'scanner' : null, subscriber_id: null, at: '2026-11-22T09:00:00.000Z' });
    await insertEngagementEvents(desk.db, [event('human'), event('human'), event('human'), event('machine'), event('machine')]);
    const overview = await desk.get('/desk');
    expect(overview.body).toContain('<th scope="col">Human clicks</th>');
    expect(overview.body).toMatch(/2026-11-22-sunday<\/span><\/td><td class="n">1<\/td>(<td class="n">0<\/td>){4}<td class="n">3<\/td><\/tr>/);
    const page = await desk.get(`/desk/editions/${id}`);
    expect(page.body).toContain('<svg id="clicks-chart"');
    expect(page.body).toContain('3 human clicks. 2 machine clicks');
  } finally {
    await desk.close();
  }
});

test('invalid content: the overview and the edition page say so instead of failing, and there is no copy to frame', async () => {
  const dir = writeContent([{ published: '2026-11-23T10:00:00Z' }], []);
  writeFileSync(join(dir, 'news', 'broken.md'), '---\ntitle: no url or score\n---\nText.\n');
  const desk = await oneEditorServer({}, { contentDir: dir });
  try {
    const overview = await desk.get('/desk');
    expect(overview.status).toBe(200);
    expect(overview.body).toMatch(/2026-11-29-sunday">[^<]+<\/a><\/td><td>2026-11-29 08:00 GMT<\/td><td><span class="state draft">draft<\/span><\/td><td class="n">\?<\/td>/);
    const page = await desk.get('/desk/editions/2026-11-29-sunday');
    expect(page.status).toBe(200);
    expect(page.body).toContain('The content does not pass `almanac content check` right now');
    expect((await desk.get('/desk/editions/2026-11-29-sunday/copy')).status).toBe(404);
  } finally {
    await desk.close();
  }
});
