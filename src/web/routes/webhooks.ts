import type { IncomingMessage } from 'node:http';
import { BounceProcessor } from '../../bounces/process.ts';
import { providerAnalysis, WebhookError, type ProviderEvent } from '../../bounces/providers/event.ts';
import { mailgunEvent, verifyMailgun } from '../../bounces/providers/mailgun.ts';
import { postmarkEvent, verifyPostmark } from '../../bounces/providers/postmark.ts';
import { httpsFetch, isSnsUrl, sesEvents, verifySns } from '../../bounces/providers/ses.ts';
import { claimNonce, releaseNonce } from '../../store/webhook-nonces.ts';
import type { App, Handler } from '../app.ts';
import { HttpError, type Reply } from '../http.ts';

/** Provider payloads can carry a message's headers (SES up to 256 KB per SNS message). */
const MAX_WEBHOOK_BYTES = 512 * 1024;

const processors = new WeakMap<App, Promise<BounceProcessor>>();

/** The server's bounce processor, on its store (SQLite or PostgreSQL), made at the first webhook. */
function processor(app: App): Promise<BounceProcessor> {
  let p = processors.get(app);
  if (!p) {
    p = BounceProcessor.open(app.db, app.config, app.clock);
    p.catch(() => processors.delete(app)); // a store that failed now may answer the next webhook
    processors.set(app, p);
  }
  return p;
}

/** Reads a JSON body up to MAX_WEBHOOK_BYTES. */
async function json(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_WEBHOOK_BYTES) throw new HttpError(413, `webhook body too large: at most ${MAX_WEBHOOK_BYTES} bytes`, { Connection: 'close' });
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'webhook body is not valid JSON');
  }
}

function reply(status: number, body: Record<string, unknown>, headers?: Record<string, string>): Reply {
  return { status, type: 'json', body: JSON.stringify(body), headers };
}

/** Applies verified events; the log line counts outcomes and never names an address. */
async function apply(app: App, source: string, events: ProviderEvent[]): Promise<Reply> {
  const results = await (await processor(app)).applyEvents(events.map((e) => providerAnalysis(source, e, app.config.bounce.address)));
  const counts = { changed: 0, unchanged: 0, ignored: 0 };
  for (const r of results) counts[r.outcome]++;
  // Why each event was ignored (the reason names no address; the result line would).
  const why = [...new Set(results.filter((r) => r.outcome === 'ignored').map((r) => r.reason ?? r.verdict.why))];
  app.log(
    `webhook ${source}: ${results.length} event(s): ${counts.changed} changed, ${counts.unchanged} already known, ${counts.ignored} ignored${why.length ? ` (${why.join('; ')})` : ''}`,
  );
  return reply(200, { received: results.length, ...counts });
}

/** Runs a webhook; authentication failures are 401/403 with nothing changed. */
async function guarded(source: string, app: App, fn: () => Promise<Reply>): Promise<Reply> {
  try {
    return await fn();
  } catch (error) {
    if (!(error instanceof WebhookError)) throw error;
    app.log(`webhook ${source}: refused (${error.status}): ${error.message}`);
    return reply(error.status, { error: error.message }, error.status === 401 && source === 'postmark' ? { 'WWW-Authenticate': 'Basic realm="almanac webhooks"' } : undefined);
  }
}

/** `POST /webhooks/mailgun`: Mailgun's failed and complained events, signed with MAILGUN_WEBHOOK_SIGNING_KEY. */
export const mailgunWebhook: Handler = (r, app) =>
  guarded('mailgun', app, async () => {
    const key = app.config.bounce.mailgunSigningKey;
    if (!key) throw new WebhookError(403, 'Mailgun webhooks are not configured (MAILGUN_WEBHOOK_SIGNING_KEY)');
    const now = app.clock();
    const { data, token, expiresAt } = verifyMailgun(await json(r.req), key, now.getTime());
    // Before applying: of two hosts given the same request, one claims the token, the other refuses it.
    if (!(await claimNonce(app.db, 'mailgun', token, expiresAt, now))) throw new WebhookError(401, 'Mailgun signature token already used (a replayed request)');
    try {
      return await apply(app, 'mailgun', [mailgunEvent(data)]);
    } catch (error) {
      // Not applied: Mailgun retries the same request, which must then be accepted.
      await releaseNonce(app.db, 'mailgun', token).catch(() => undefined);
      throw error;
    }
  });

/** `POST /webhooks/postmark`: Postmark's Bounce and SpamComplaint webhooks, with basic auth POSTMARK_WEBHOOK_AUTH. */
export const postmarkWebhook: Handler = (r, app) =>
  guarded('postmark', app, async () => {
    const auth = app.config.bounce.postmarkAuth;
    if (!auth) throw new WebhookError(403, 'Postmark webhooks are not configured (POSTMARK_WEBHOOK_AUTH)');
    verifyPostmark(r.req.headers, auth); // before reading the body: nothing from an unauthenticated caller is parsed
    return apply(app, 'postmark', [postmarkEvent(await json(r.req))]);
  });

/** `POST /webhooks/ses`: Amazon SES notifications through SNS (signature checked), including the subscription confirmation. */
export const sesWebhook: Handler = (r, app) =>
  guarded('ses', app, async () => {
    const topics = app.config.bounce.sesTopicArns;
    if (topics.length === 0) throw new WebhookError(403, 'SES webhooks are not configured (SES_SNS_TOPIC_ARN)');
    const fetch = app.deps.fetchSns ?? httpsFetch;
    const message = await verifySns(await json(r.req), topics, fetch, app.clock().getTime());
    if (message.Type === 'SubscriptionConfirmation') {
      if (!isSnsUrl(message.SubscribeURL)) throw new WebhookError(403, 'SubscribeURL is not an https Amazon SNS URL');
      await fetch(message.SubscribeURL);
      app.log(`webhook ses: subscription to ${message.TopicArn} confirmed`);
      return reply(200, { confirmed: message.TopicArn });
    }
    if (message.Type === 'UnsubscribeConfirmation') return reply(200, { unsubscribed: message.TopicArn });
    return apply(app, 'ses', sesEvents(message.Message));
  });
