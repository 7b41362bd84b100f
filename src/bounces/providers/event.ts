import type { Analysis, BounceClass, Verdict } from '../classify.ts';
import { messageIdOf } from '../fields.ts';
import { tagsAddressedTo } from '../verp.ts';

/** A provider's event, already verified, as the applier takes it. */
export interface ProviderEvent {
  class: BounceClass;
  why: string;
  recipient: string | undefined;
  status?: string;
  diagnostic?: string;
  /** The envelope sender the provider reports (the VERP address, when ALMANAC_BOUNCE_ADDRESS is set). */
  envelopeSender?: string;
  /** The Message-ID header of the copy, with or without angle brackets. */
  messageId?: string;
}

/** Turns a provider event into the same Analysis a bounce message gives. */
export function providerAnalysis(source: string, event: ProviderEvent, bounceAddress: string | undefined): Analysis {
  const verdict: Verdict = {
    class: event.class,
    why: event.why,
    recipient: event.recipient?.toLowerCase(),
    status: event.status,
    diagnostic: event.diagnostic?.replace(/\s+/g, ' ').trim() || undefined,
    source,
  };
  return {
    verdict,
    keys: {
      tags: bounceAddress && event.envelopeSender ? tagsAddressedTo(bounceAddress, event.envelopeSender) : [],
      messageId: messageIdOf(event.messageId),
    },
  };
}

/** A webhook request that must be refused: 401/403 for authentication, 400 for a malformed body. */
export class WebhookError extends Error {
  override name = 'WebhookError';
  constructor(
    readonly status: 400 | 401 | 403,
    message: string,
  ) {
    super(message);
  }
}
