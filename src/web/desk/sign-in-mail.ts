import { buildSimpleMessage, newMessageId } from '../../delivery/mime.ts';
import { bareAddress } from '../../delivery/transport.ts';
import { formatLocal } from '../../editions/time.ts';
import type { Editor } from '../../store/editors.ts';
import { SIGN_IN_LINK_TTL_MS } from '../../store/desk-sessions.ts';
import type { App } from '../app.ts';
import { html } from '../html.ts';

/** The subject of the desk's sign-in mail. */
export const SIGN_IN_SUBJECT = 'Your sign-in link for the Almanac desk';

/** The mail's text and HTML parts: the link, how long it works, and what to do if it was not you. */
export function signInMailParts(link: string, expires: string, name: string | null): { text: string; html: string } {
  const minutes = SIGN_IN_LINK_TTL_MS / 60_000;
  const lines = [
    `Hello${name ? ` ${name}` : ''},`,
    '',
    'Someone (we hope you) asked to sign in to the Almanac editors’ desk with this address.',
    `Open this link to sign in. It works once, for ${minutes} minutes (until ${expires}):`,
    '',
    link,
    '',
    'If you did not ask, ignore this mail: nothing happens without the link.',
  ];
  const body = html`<!doctype html><html lang="en"><body style="font-family:Arial,sans-serif;color:#1d1f23;background:#ffffff">
<p>Hello${name ? ` ${name}` : ''},</p>
<p>Someone (we hope you) asked to sign in to the Almanac editors’ desk with this address.</p>
<p>Open this link to sign in. It works once, for ${minutes} minutes (until ${expires}):</p>
<p><a href="${link}">${link}</a></p>
<p>If you did not ask, ignore this mail: nothing happens without the link.</p>
</body></html>`;
  return { text: `${lines.join('\n')}\n`, html: body.value };
}

/**
 * Sends an editor their sign-in link through the configured transport (SMTP or the outbox), as the
 * confirmation mail goes. Failures are logged without the link, never thrown (the page already answered).
 */
export async function sendSignInMail(app: App, editor: Editor, token: string): Promise<void> {
  const { config } = app;
  try {
    const now = app.clock();
    const link = `${config.baseUrl}/desk/sign-in/${token}`;
    const parts = signInMailParts(link, formatLocal(new Date(now.getTime() + SIGN_IN_LINK_TTL_MS), config.timezone), editor.name);
    const messageId = newMessageId(config.mailDomain);
    const raw = buildSimpleMessage({ from: config.from, replyTo: config.replyTo, to: editor.email, subject: SIGN_IN_SUBJECT, ...parts, messageId, date: now });
    const result = await app.deps.transport.send({ from: bareAddress(config.from), to: editor.email, raw, messageId, editionId: 'desk-sign-in' });
    if (result.status !== 'sent') app.log(`desk sign-in mail not delivered: ${result.status} ${result.response}`);
  } catch (error) {
    app.log(`desk sign-in mail not sent: ${(error as Error).message}`);
  }
}
