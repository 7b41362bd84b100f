import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { SESSION_IDLE_MS, sessionCounts, SIGN_IN_LINK_TTL_MS } from '../src/store/desk-sessions.ts';
import type { Store } from '../src/store/handle.ts';
import { startWebServer, type RunningWebServer } from '../src/web/start.ts';
import { almanac } from './cli.ts';
import { csrfOf, DeskClient, send, signIn, signInLinkFrom } from './desk-client.ts';
import { freePort, tempDir, testConfig } from './helpers.ts';
import { startSmtpServer, type TestSmtpServer } from './smtp.ts';
import { describeEachDb, freshTarget, openTracked, PG_SKIP_REASON, PG_URL } from './store-db.ts';

const T0 = new Date('2026-11-24T12:00:00.000Z');
const running: { close(): Promise<void> }[] = [];

afterEach(async () => {
  for (const r of running.splice(0).reverse()) await r.close();
});

/** A fixed clock the test moves by hand. */
function testClock(start = T0) {
  let now = start;
  return { clock: () => now, advance: (ms: number) => (now = new Date(now.getTime() + ms)) };
}

interface Desk {
  web: RunningWebServer;
  smtp: TestSmtpServer;
  target: string;
  store: Store;
  env: Record<string, string>;
  advance: (ms: number) => Date;
}

/** A web server on a fresh database with a real SMTP server for its mail, and the clock fixed at T0. */
async function startDesk(dialect: 'sqlite' | 'postgres', extra: Record<string, string> = {}): Promise<Desk> {
  const smtp = await startSmtpServer();
  running.push(smtp);
  const target = await freshTarget(dialect);
  const port = await freePort();
  const env = { ALMANAC_DB: target, SMTP_URL: smtp.url, ALMANAC_BASE_URL: `http://127.0.0.1:${port}`, ALMANAC_OUTBOX: join(tempDir(), 'outbox'), ...extra };
  const { clock, advance } = testClock();
  const web = await startWebServer(testConfig(env), { port, host: '127.0.0.1', contentDir: 'content', clock });
  running.push(web);
  return { web, smtp, target, store: await openTracked(target), env, advance };
}

async function cli(desk: Desk, args: string[]) {
  return almanac(['editors', ...args], { ALMANAC_DB: desk.target });
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

describeEachDb('who may enter the desk', (dialect) => {
  test('editors add, list and remove from the command line; each change is in the audit log', async () => {
    const desk = await startDesk(dialect);
    expect((await cli(desk, ['list'])).stderr).toContain('no editors yet');
    const added = await cli(desk, ['add', 'Ed@Example.com', '--name', 'Ed Itor', '--role', 'admin']);
    expect(added).toMatchObject({ code: 0 });
    expect(added.stdout).toBe('added ed@example.com (Ed Itor), role admin; they sign in at /desk/sign-in with a link sent to this address\n');
    expect((await cli(desk, ['add', 'ed@example.com', '--role', 'admin'])).stdout).toContain('already an editor, unchanged: ed@example.com (Ed Itor)');
    expect((await cli(desk, ['add', 'ed@example.com'])).stdout).toContain('updated ed@example.com (Ed Itor), role editor');
    expect((await cli(desk, ['add', 'ann@example.com'])).code).toBe(0);
    const list = await cli(desk, ['list']);
    expect(list.stdout.split('\n').filter(Boolean)).toEqual([
      expect.stringMatching(/^ann@example\.com {2}editor {2}0 sessions {2}added \d{4}-\d{2}-\d{2}$/),
      expect.stringMatching(/^ed@example\.com {3}editor {2}0 sessions {2}added \d{4}-\d{2}-\d{2} {2}Ed Itor$/),
    ]);

    const bad = await cli(desk, ['add', 'x@example.com', '--role', 'owner']);
    expect(bad).toMatchObject({ code: 2 });
    expect(bad.stderr).toContain('almanac editors: --role: expected editor or admin, found "owner"');
    expect((await cli(desk, ['add', 'not-an-address'])).stderr).toContain('invalid email address "not-an-address"');
    const unknown = await cli(desk, ['remove', 'nobody@example.com']);
    expect(unknown).toMatchObject({ code: 1, stderr: 'almanac editors: nobody@example.com is not an editor; nothing changed\n' });
    expect(await cli(desk, ['remove', 'ann@example.com'])).toMatchObject({ code: 0, stdout: 'removed ann@example.com (editor); 0 sessions ended, unused sign-in links cancelled\n' });

    const audit = await desk.store.db.selectFrom('desk_audit').select(['actor', 'action', 'subject', 'detail']).orderBy('id').execute();
    expect(audit).toEqual([
      { actor: 'operator', action: 'editor-add', subject: 'ed@example.com', detail: 'role admin' },
      { actor: 'operator', action: 'editor-update', subject: 'ed@example.com', detail: 'role admin → editor' },
      { actor: 'operator', action: 'editor-add', subject: 'ann@example.com', detail: 'role editor' },
      { actor: 'operator', action: 'editor-remove', subject: 'ann@example.com', detail: 'role editor, 0 session(s) ended' },
    ]);
  });

  test('sign-in by an emailed link: the GET shows a button and spends nothing, the POST signs in once; only hashes are stored', async () => {
    const desk = await startDesk(dialect);
    await cli(desk, ['add', 'ed@example.com', '--name', 'Ed']);
    const browser = new DeskClient(desk.web.url);
    expect(await browser.get('/desk')).toMatchObject({ status: 303, headers: { location: '/desk/sign-in' } });

    const form = await browser.get('/desk/sign-in');
    expect(form.status).toBe(200);
    expect(form.headers['set-cookie']?.[0]).toMatch(/^almanac-desk-pre=[A-Za-z0-9_-]{32}; Max-Age=86400; Path=\/; HttpOnly; SameSite=Strict$/);
    const asked = await browser.post('/desk/sign-in', { csrf: csrfOf(form.body), email: 'ED@example.com' });
    expect(asked.status).toBe(200);
    const link = await signInLinkFrom(desk.smtp, 'ed@example.com');
    const token = link.split('/').pop()!;
    expect(desk.smtp.messages[0]!.raw).toContain('Subject: Your sign-in link for the Almanac desk');

    // A scanner fetching the link (no cookies) spends nothing; neither does a POST without the page's token.
    for (let i = 0; i < 2; i++) expect((await send(`${desk.web.url}${link}`)).status).toBe(200);
    const page = await browser.get(link);
    expect(page.body).toContain('<button type="submit">Sign in</button>');
    const forged = await send(`${desk.web.url}${link}`, { form: { csrf: 'x' }, cookie: browser.cookie });
    expect(forged.status).toBe(403);
    expect(forged.headers['set-cookie']).toBeUndefined();

    const spent = await browser.post(link, { csrf: csrfOf(page.body) });
    expect(spent).toMatchObject({ status: 303, headers: { location: '/desk' } });
    const cookie = spent.headers['set-cookie']![0]!;
    expect(cookie).toMatch(/^almanac-desk=[A-Za-z0-9_-]{43}; Max-Age=604800; Path=\/; HttpOnly; SameSite=Strict$/);
    const overview = await browser.get('/desk');
    expect(overview.status).toBe(200);
    expect(overview.body).toContain('Ed (editor)');

    // Once only, on any browser.
    const again = await browser.post(link, { csrf: csrfOf(page.body) });
    expect(again.status).toBe(400);
    expect(again.body).toContain('This sign-in link cannot be used');
    expect(again.headers['set-cookie']).toBeUndefined();
    expect((await browser.get(link)).status).toBe(400);

    // The database holds hashes, never the link's token or the session id.
    const links = await desk.store.db.selectFrom('desk_sign_in_links').selectAll().execute();
    expect(links).toEqual([{ token_hash: sha256(token), email: 'ed@example.com', created_at: T0.toISOString(), expires_at: new Date(T0.getTime() + SIGN_IN_LINK_TTL_MS).toISOString(), used_at: T0.toISOString() }]);
    const sessionId = browser.jar.get('almanac-desk')!;
    const sessions = await desk.store.db.selectFrom('desk_sessions').selectAll().execute();
    expect(sessions.map((s) => s.id_hash)).toEqual([sha256(sessionId)]);
    expect(JSON.stringify([links, sessions])).not.toContain(token);
    expect(JSON.stringify([links, sessions])).not.toContain(sessionId);
  });

  test('the same answer whether or not the address is an editor’s; a link only for editors', async () => {
    const desk = await startDesk(dialect);
    await cli(desk, ['add', 'ed@example.com']);
    const answer = async (email: string) => {
      const client = new DeskClient(desk.web.url);
      const form = await client.get('/desk/sign-in');
      const reply = await client.post('/desk/sign-in', { csrf: csrfOf(form.body), email });
      return { status: reply.status, body: reply.body.replace(email, 'ADDRESS') };
    };
    const [editor, stranger] = [await answer('ed@example.com'), await answer('stranger@example.com')];
    expect(stranger).toEqual(editor);
    expect(editor.status).toBe(200);
    await signInLinkFrom(desk.smtp, 'ed@example.com');
    await new Promise((r) => setTimeout(r, 300));
    expect(desk.smtp.recipients()).toEqual(['ed@example.com']);
    expect(await desk.store.db.selectFrom('desk_sign_in_links').select('email').execute()).toEqual([{ email: 'ed@example.com' }]);
  });

  test('a link expires after 15 minutes; sessions end after 12 hours idle and 7 days in all', async () => {
    const desk = await startDesk(dialect);
    await cli(desk, ['add', 'ed@example.com']);
    const browser = new DeskClient(desk.web.url);
    const form = await browser.get('/desk/sign-in');
    await browser.post('/desk/sign-in', { csrf: csrfOf(form.body), email: 'ed@example.com' });
    const link = await signInLinkFrom(desk.smtp, 'ed@example.com');
    const page = await browser.get(link);
    desk.advance(SIGN_IN_LINK_TTL_MS);
    const late = await browser.post(link, { csrf: csrfOf(page.body) });
    expect(late.status).toBe(400);
    expect(late.headers['set-cookie']).toBeUndefined();

    await signIn(browser, desk.smtp, 'ed@example.com');
    desk.advance(SESSION_IDLE_MS - 60_000);
    expect((await browser.get('/desk')).status).toBe(200); // within 12 h of the last request
    desk.advance(SESSION_IDLE_MS - 60_000);
    expect((await browser.get('/desk')).status).toBe(200);
    desk.advance(SESSION_IDLE_MS);
    const idle = await browser.get('/desk');
    expect(idle).toMatchObject({ status: 303, headers: { location: '/desk/sign-in' } });
    expect(idle.headers['set-cookie']![0]).toMatch(/^almanac-desk=; Max-Age=0;/);

    await signIn(browser, desk.smtp, 'ed@example.com');
    for (let h = 0; h < 7 * 24 - 11; h += 11) {
      desk.advance(11 * 3_600_000);
      expect((await browser.get('/desk')).status, `after ${h + 11} h`).toBe(200);
    }
    desk.advance(11 * 3_600_000); // past 7 days since sign-in, though used an hour ago
    expect((await browser.get('/desk')).status).toBe(303);
  });

  test('sign-out needs the CSRF token and ends the session; removing an editor ends theirs and cancels their links', async () => {
    const desk = await startDesk(dialect);
    await cli(desk, ['add', 'ed@example.com']);
    await cli(desk, ['add', 'ann@example.com']);
    const ed = new DeskClient(desk.web.url);
    await signIn(ed, desk.smtp, 'ed@example.com');
    const page = await ed.get('/desk');
    const noToken = await ed.post('/desk/sign-out', {});
    expect(noToken.status).toBe(403);
    expect(noToken.body).toContain('did not carry its security token');
    expect((await ed.get('/desk')).status).toBe(200);
    const out = await ed.post('/desk/sign-out', { csrf: csrfOf(page.body) });
    expect(out.status).toBe(200);
    expect(out.headers['set-cookie']![0]).toMatch(/^almanac-desk=; Max-Age=0;/);
    expect(await desk.store.db.selectFrom('desk_sessions').selectAll().execute()).toEqual([]);

    const ann = new DeskClient(desk.web.url);
    await signIn(ann, desk.smtp, 'ann@example.com');
    const stolen = ann.cookie;
    const form = await ann.get('/desk/sign-in');
    const seen = desk.smtp.messages.length;
    await ann.post('/desk/sign-in', { csrf: csrfOf(form.body), email: 'ann@example.com' });
    const pending = await signInLinkFrom(desk.smtp, 'ann@example.com', seen);
    expect(await sessionCounts(desk.store, T0)).toEqual(new Map([['ann@example.com', 1]])); // `editors list` counts them by the real clock
    expect(await cli(desk, ['remove', 'ann@example.com'])).toMatchObject({ code: 0, stdout: expect.stringContaining('1 session ended') });
    expect((await send(`${desk.web.url}/desk`, { cookie: stolen })).status).toBe(303);
    expect((await ann.get(pending)).status).toBe(400);
  });

  test('sign-in requests are limited per address and per client (IPv4 address; another client is not held back)', async () => {
    const desk = await startDesk(dialect);
    const ask = async (client: DeskClient, email: string) => {
      const form = await client.get('/desk/sign-in');
      return client.post('/desk/sign-in', { csrf: csrfOf(form.body), email });
    };
    const one = new DeskClient(desk.web.url, '127.0.0.1');
    for (let i = 0; i < 3; i++) expect((await ask(one, 'target@example.com')).status).toBe(200);
    const flooded = await ask(one, 'target@example.com');
    expect(flooded.status).toBe(429);
    expect(Number(flooded.headers['retry-after'])).toBeGreaterThan(800);
    const other = new DeskClient(desk.web.url, '127.0.0.2');
    expect((await ask(other, 'target@example.com')).status).toBe(429); // the address, whoever asks
    expect((await ask(other, 'someone@example.com')).status).toBe(200);
    for (let i = 0; i < 6; i++) expect((await ask(one, `a${i}@example.com`)).status).toBe(200);
    expect((await ask(one, 'b@example.com')).status).toBe(429); // the client: 10 requests in 15 minutes
    desk.advance(15 * 60_000);
    expect((await ask(one, 'b@example.com')).status).toBe(200);
  });
});

describe('cookies over https', () => {
  test('with an https ALMANAC_BASE_URL the cookies are Secure with the __Host- prefix; a plain-named cookie is ignored', async () => {
    const desk = await startDesk('sqlite', { ALMANAC_BASE_URL: 'https://desk.almanac.test' });
    await cli(desk, ['add', 'ed@example.com']);
    const browser = new DeskClient(desk.web.url);
    const form = await browser.get('/desk/sign-in');
    expect(form.headers['set-cookie']![0]).toMatch(/^__Host-almanac-desk-pre=[A-Za-z0-9_-]{32}; Max-Age=86400; Path=\/; HttpOnly; SameSite=Strict; Secure$/);
    await signIn(browser, desk.smtp, 'ed@example.com');
    const session = browser.jar.get('__Host-almanac-desk')!;
    expect(session).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect((await browser.get('/desk')).status).toBe(200);
    expect((await send(`${desk.web.url}/desk`, { cookie: `almanac-desk=${session}` })).status).toBe(303);
  });
});

describe.skipIf(!PG_URL)(`two web servers on one PostgreSQL${PG_URL ? '' : ` (${PG_SKIP_REASON})`}`, () => {
  test('a session made on one is honoured by the other, and a sign-out on either ends it on both', async () => {
    const desk = await startDesk('postgres');
    const second = await startWebServer(testConfig(desk.env), { port: 0, host: '127.0.0.1', contentDir: 'content', clock: () => T0 });
    running.push(second);
    await cli(desk, ['add', 'ed@example.com']);
    const onA = new DeskClient(desk.web.url);
    await signIn(onA, desk.smtp, 'ed@example.com');
    const onB = new DeskClient(second.url);
    for (const [k, v] of onA.jar) onB.jar.set(k, v);
    const page = await onB.get('/desk');
    expect(page.status).toBe(200);
    expect(page.body).toContain('ed@example.com');
    // A link asked for on B is spent on A; the form token made on A is accepted by B.
    const form = await onB.get('/desk/sign-in');
    await onB.post('/desk/sign-in', { csrf: csrfOf(form.body), email: 'ed@example.com' });
    const link = await signInLinkFrom(desk.smtp, 'ed@example.com', 1);
    const linkPage = await onA.get(link);
    const toB = new DeskClient(second.url);
    for (const [k, v] of onA.jar) toB.jar.set(k, v);
    expect((await toB.post(link, { csrf: csrfOf(linkPage.body) })).status).toBe(303);
    expect((await onA.post(link, { csrf: csrfOf(linkPage.body) })).status).toBe(400);

    expect((await onB.post('/desk/sign-out', { csrf: csrfOf(page.body) })).status).toBe(200);
    expect((await onA.get('/desk')).status).toBe(303);
  });
});
