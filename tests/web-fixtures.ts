import type { Server } from 'node:http';
import { simpleParser } from 'mailparser';
import { expect } from 'vitest';
import { serverIdle } from '../src/web/server.ts';
import type { TestSmtpServer } from './smtp.ts';
import type { Store } from '../src/store/handle.ts';

/** `[id, kind, number, sendAt, subject, preheader, html, status]` of an `editions` row. */
export type EditionFixture = [string, string, number, string, string, string, string | null, 'sent' | 'sending'];

/** Writes `editions` rows as a send would have left them (the archive and the feed read these). */
export async function insertEditions(store: Store, rows: EditionFixture[]): Promise<void> {
  await store.db
    .insertInto('editions')
    .values(
      rows.map(([id, kind, number, sendAt, subject, preheader, html, status]) => ({
        id,
        kind,
        number,
        send_at: sendAt,
        subject,
        preheader,
        html,
        text: html === null ? null : 'text',
        status,
        started_at: sendAt,
      })),
    )
    .execute();
}

/**
 * Submits the subscribe form at `origin` for `email` and `editions`; returns the absolute confirmation
 * link of the email it caused, or undefined when none went out.
 */
export async function subscribeByForm(
  web: { origin: string; server: Server; smtp: TestSmtpServer },
  email: string,
  editions: string[],
): Promise<string | undefined> {
  const before = web.smtp.messages.length;
  const body = new URLSearchParams({ email, editions_shown: '1' });
  for (const e of editions) body.append('editions', e);
  const res = await fetch(`${web.origin}/subscribe`, { method: 'POST', body });
  expect(res.status).toBe(200);
  await res.text();
  await serverIdle(web.server);
  if (web.smtp.messages.length === before) return undefined;
  expect(web.smtp.messages.at(-1)!.to).toEqual([email.toLowerCase()]);
  const mail = await simpleParser(web.smtp.messages.at(-1)!.raw);
  const link = /https:\/\/almanac\.test(\/confirm\/[A-Za-z0-9_-]+)/.exec(mail.text ?? '')?.[1];
  expect(link).toBeDefined();
  return `${web.origin}${link}`;
}
