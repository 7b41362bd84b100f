import type { SendResult } from './transport.ts';

/** A reply that is not a 250. */
export type FailedResult = Exclude<SendResult, { status: 'sent' }>;

/** The RFC 3463 enhanced status code (e.g. `5.1.1`) in a reply's text, if any. */
export function enhancedStatus(response: string): string | undefined {
  const m = /^\s*\d{3}[ -]?\s*([245]\.\d{1,3}\.\d{1,3})\b/.exec(response) ?? /\b([245]\.\d{1,3}\.\d{1,3})\b/.exec(response);
  return m?.[1];
}

// Without an enhanced code, only these 5xx replies with these words mean "no such mailbox".
const NO_SUCH_USER_CODES = new Set([550, 551, 553]);
const NO_SUCH_USER_TEXT =
  /no such (user|mailbox|recipient)|user unknown|unknown (user|recipient|mailbox)|mailbox (unavailable|not found|does not exist)|does not exist|invalid (recipient|mailbox)|recipient rejected|address rejected/i;

/**
 * What a per-recipient SMTP error reply means for the subscriber.
 * 4xx → deferred (retry later); 5.1.x on the recipient → bounced (hard bounce, suppress);
 * everything else 5xx → failed (recorded with the reply; 5.7.x is a policy problem on our side).
 */
export function classifyReply(code: number, response: string): FailedResult {
  const enhanced = enhancedStatus(response);
  const text = response.trim();
  if (code >= 400 && code < 500) return { status: 'deferred', code, enhanced, response: text };
  if (code >= 500 && code < 600) {
    if (enhanced?.startsWith('5.1.') && !isSenderAddressProblem(enhanced)) {
      return { status: 'bounced', code, enhanced, response: text };
    }
    if (!enhanced && NO_SUCH_USER_CODES.has(code) && NO_SUCH_USER_TEXT.test(text)) {
      return { status: 'bounced', code, enhanced, response: text };
    }
  }
  return { status: 'failed', code, enhanced, response: text };
}

// X.1.7 / X.1.8 are about our sender address, not the recipient's mailbox.
function isSenderAddressProblem(enhanced: string): boolean {
  return enhanced === '5.1.7' || enhanced === '5.1.8';
}

/** True when the rejection is about our setup (5.7.x policy, authentication, DMARC; bad sender address), not the subscriber. */
export function isPolicyRejection(result: SendResult): boolean {
  if (result.status === 'sent' || !result.enhanced) return false;
  return result.enhanced.startsWith('5.7.') || isSenderAddressProblem(result.enhanced);
}

/** True for replies that count as a soft bounce across editions (mailbox full or disabled, 5.2.x). */
export function isSoftBounceReply(result: SendResult): boolean {
  return result.status === 'failed' && result.enhanced?.startsWith('5.2.') === true;
}
