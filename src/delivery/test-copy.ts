import type { Config, Kind } from '../config.ts';
import { KIND_NAMES } from '../editions/calendar.ts';
import type { RecipientLinks, RenderedEdition } from '../render/render-edition.ts';
import { buildMessage, compileMessage, newMessageId } from './mime.ts';
import { bareAddress, type SendResult, type Transport } from './transport.ts';

/** Subject prefix of a test copy. */
export const TEST_SUBJECT_PREFIX = '[TEST] ';

/** Subject prefix of an editor's review copy (src/publish/review-copies.ts). */
export const REVIEW_SUBJECT_PREFIX = '[REVIEW] ';

/** Sends one copy of an edition to `to`, subject prefixed "[TEST] " (or `subjectPrefix`); the ledger is not touched. */
export async function sendTestCopy(input: {
  rendered: RenderedEdition;
  to: string;
  kind: Kind;
  config: Config;
  transport: Transport;
  links: RecipientLinks;
  /** One-click unsubscribe headers: only when the links are a real subscriber's. */
  listUnsubscribe: boolean;
  clock?: () => Date;
  /** @default TEST_SUBJECT_PREFIX */
  subjectPrefix?: string;
}): Promise<{ result: SendResult; messageId: string }> {
  const { config, rendered } = input;
  const template = compileMessage(rendered, {
    from: config.from,
    replyTo: config.replyTo,
    mailDomain: config.mailDomain,
    listId: { name: KIND_NAMES[input.kind], domain: `${input.kind}.${config.mailDomain}` },
  });
  const messageId = newMessageId(config.mailDomain);
  const raw = buildMessage(template, {
    to: input.to,
    links: input.links,
    messageId,
    date: (input.clock ?? (() => new Date()))(),
    subjectPrefix: input.subjectPrefix ?? TEST_SUBJECT_PREFIX,
    listUnsubscribe: input.listUnsubscribe,
  });
  const result = await input.transport.send({ from: bareAddress(config.from), to: input.to, raw, messageId, editionId: `${rendered.id}-${input.subjectPrefix === REVIEW_SUBJECT_PREFIX ? 'review' : 'test'}` });
  return { result, messageId };
}
