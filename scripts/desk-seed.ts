/**
 * A database for showing the editors' desk (screenshots, tests): subscribers who joined and left over
 * twelve weeks, the Sunday edition of 2026-11-22 sent through the outbox, and an admin signed in.
 */
import type { Config } from '../src/config.ts';
import { runSend } from '../src/commands/send.ts';
import { recordDeskAudit } from '../src/store/desk-audit.ts';
import { createSignInLink, spendSignInLink } from '../src/store/desk-sessions.ts';
import { addEditor } from '../src/store/editors.ts';
import { openStore } from '../src/store/open.ts';
import { SubscriberStore } from '../src/store/subscribers.ts';

/** The desk's "now" in the demo: a Tuesday, with Midweek No. 48 and Sunday No. 48 ahead. */
export const DESK_NOW = new Date('2026-11-24T12:00:00.000Z');

/** The signed-in admin of the demo. */
export const DESK_ADMIN = { email: 'ada@almanac.example', name: 'Ada' } as const;

const DAY = 86_400_000;

/** Subscribers confirmed over the 12 weeks before DESK_NOW; some left since, one bounced. */
async function seedSubscribers(store: Awaited<ReturnType<typeof openStore>>): Promise<void> {
  let at = new Date(DESK_NOW.getTime() - 83 * DAY);
  const subs = new SubscriberStore(store, () => at);
  for (let i = 0; i < 60; i++) {
    at = new Date(DESK_NOW.getTime() - 83 * DAY + Math.floor((i * i) / 45) * DAY + i * 3_600_000);
    const { subscriber } = await subs.add({ email: `reader${i}@example.com`, name: `Reader ${i}`, editions: i % 3 ? ['midweek', 'sunday'] : ['sunday'] });
    if (i % 9 === 4) {
      at = new Date(at.getTime() + 5 * DAY);
      await subs.unsubscribe(subscriber!.id, 'all');
    }
  }
  at = new Date(DESK_NOW.getTime() - 3 * DAY);
  await subs.suppress((await subs.findByEmail('reader7@example.com'))!.id, 'bounced', '550 5.1.1 no such user');
}

/** Seeds `config`'s database (a new SQLite file or an empty PostgreSQL one) and returns the admin's session id. */
export async function seedDesk(config: Config): Promise<{ sessionId: string }> {
  const store = await openStore(config.dbPath);
  const quiet = { write: () => true, isTTY: false } as unknown as NodeJS.WriteStream;
  try {
    await seedSubscribers(store);
    await runSend(config, { kind: 'sunday', date: '2026-11-22', store, out: quiet, err: quiet, progress: false });
    await addEditor(store, { ...DESK_ADMIN, role: 'admin' }, 'operator', new Date(DESK_NOW.getTime() - 2 * DAY));
    await addEditor(store, { email: 'sam@almanac.example', name: 'Sam', role: 'editor' }, 'operator', new Date(DESK_NOW.getTime() - 2 * DAY));
    const link = await createSignInLink(store, DESK_ADMIN.email, DESK_NOW);
    const opened = await spendSignInLink(store, link!.token, DESK_NOW);
    await recordDeskAudit(store, { at: new Date(DESK_NOW.getTime() - 3_600_000).toISOString(), actor: DESK_ADMIN.email, action: 'test-copy', subject: '2026-11-29-sunday', detail: `to ${DESK_ADMIN.email}, sent: 250 OK` });
    return { sessionId: opened!.sessionId };
  } finally {
    await store.close();
  }
}
