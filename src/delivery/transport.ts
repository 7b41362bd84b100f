export { TransportError } from './errors.ts';

/** One prebuilt message for one recipient. */
export interface OutgoingMessage {
  /** Envelope sender (bare address). */
  from: string;
  /** Envelope recipient (bare address). */
  to: string;
  /**
   * The complete RFC 5322 message, CRLF line endings: a string, bytes, or byte pieces in order (the
   * sender passes pieces that share the edition's encoded body; they are joined once per copy).
   */
  raw: string | Buffer | readonly Buffer[];
  messageId: string;
  editionId: string;
  /**
   * Called once every byte of the message but its end-of-data is on its way; the transport ends the
   * data (the final `.`, or the outbox's rename) only after it resolves, so the sender can record
   * "may have arrived" first. Until then a lost copy is certainly not delivered. Rejecting aborts the copy.
   */
  beforeEndOfData?: () => Promise<void>;
}

/** What the server said about one recipient: 250, or a classified error reply. */
export type SendResult =
  | { status: 'sent'; response: string }
  | { status: 'deferred' | 'bounced' | 'failed'; code: number; enhanced?: string; response: string }; // 4xx, 5.1.x, other 5xx

/**
 * Sends one message at a time per call; calls may overlap (the SMTP transport keeps a pool).
 * Connection-level failures (refused, dropped, timeout) THROW a TransportError { inDoubt } instead of returning.
 */
export interface Transport {
  send(message: OutgoingMessage): Promise<SendResult>;
  close(): Promise<void>;
  readonly kind: 'smtp' | 'outbox';
}

/** A message's bytes in one Buffer (joins pieces; encodes a string as UTF-8). */
export function rawBytes(raw: OutgoingMessage['raw']): Buffer {
  if (typeof raw === 'string') return Buffer.from(raw, 'utf8');
  return Buffer.isBuffer(raw) ? raw : Buffer.concat(raw);
}

/** The bare address in `Name <addr@host>` (or the input when it is bare already). */
export function bareAddress(address: string): string {
  const m = /<([^>]+)>\s*$/.exec(address);
  return (m?.[1] ?? address).trim();
}
