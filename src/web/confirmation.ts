import { bareAddress } from '../delivery/transport.ts';
import { buildSimpleMessage, newMessageId } from '../delivery/mime.ts';
import { renderConfirmation } from '../render/render-edition.ts';
import { editionsOf, type Subscriber } from '../store/types.ts';
import { confirmUrl } from '../subscribers/tokens.ts';
import type { App } from './app.ts';

/** Renders and sends the double opt-in email through the edition transport; failures are logged, not thrown. */
export async function sendConfirmation(app: App, subscriber: Subscriber): Promise<void> {
  const { config } = app;
  try {
    const email = await renderConfirmation({
      name: subscriber.name,
      confirmUrl: confirmUrl(config.baseUrl, app.tokens, subscriber.id, editionsOf(subscriber)),
      editions: editionsOf(subscriber),
      baseUrl: config.baseUrl,
      postalAddress: config.postalAddress,
    });
    const messageId = newMessageId(config.mailDomain);
    const raw = buildSimpleMessage({
      from: config.from,
      replyTo: config.replyTo,
      to: subscriber.email,
      subject: email.subject,
      html: email.html,
      text: email.text,
      messageId,
      date: app.clock(),
    });
    const result = await app.deps.transport.send({
      from: bareAddress(config.from),
      to: subscriber.email,
      raw,
      messageId,
      editionId: 'confirmation',
    });
    if (result.status !== 'sent') {
      app.log(`confirmation email for subscriber ${subscriber.id} not delivered: ${result.status} ${result.response}`);
    }
  } catch (error) {
    app.log(`confirmation email for subscriber ${subscriber.id} not sent: ${(error as Error).message}`);
  }
}
