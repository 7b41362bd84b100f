import { createHmac, timingSafeEqual } from 'node:crypto';
import { KINDS, type Kind } from '../config.ts';
import type { RecipientLinks } from '../render/render-edition.ts';

/** What a link does; each purpose signs differently, so a token for one never works for another. */
export type TokenPurpose = 'unsubscribe' | 'preferences' | 'confirm';

export type { RecipientLinks };

/** Confirmation links stop working after this long; the form can send a new one. */
export const CONFIRM_TOKEN_TTL_MS = 7 * 24 * 3_600_000;

const VERSION = 1;
const PURPOSES: Record<TokenPurpose, number> = { unsubscribe: 1, preferences: 2, confirm: 3 };
const KIND_CODES: Record<Kind, number> = { midweek: 1, sunday: 2 };
const CODE_KINDS: Record<number, Kind> = { 1: 'midweek', 2: 'sunday' };
/** A confirmation token names the editions asked for: a bit per kind (1 Midweek, 2 Sunday). */
const EDITION_BITS: Record<Kind, number> = { midweek: 1, sunday: 2 };
const MAC_BYTES = 16;
const BASE_BYTES = 9; // version, purpose, kind, 6-byte id

/**
 * Opaque, signed link tokens: base64url of [version, purpose, kind (unsubscribe) or editions asked for (confirm),
 * subscriber id (48 bits), expiry (confirm only)] followed by the first 128 bits of HMAC-SHA256 over those bytes.
 * No address is in them.
 */
export class Tokens {
  private readonly key: Buffer;

  constructor(
    secret: string,
    private readonly clock: () => Date = () => new Date(),
  ) {
    if (secret.length < 16) throw new Error('token secret: expected at least 16 characters');
    this.key = createHmac('sha256', secret).update('almanac link tokens v1').digest();
  }

  /** One-click unsubscribe token for one kind. */
  unsubscribe(id: number, kind: Kind): string {
    return this.sign('unsubscribe', id, kind);
  }

  /** Preferences page token. */
  preferences(id: number): string {
    return this.sign('preferences', id, undefined);
  }

  /**
   * Double opt-in token for the request that asked for `editions`; expires after CONFIRM_TOKEN_TTL_MS. It confirms
   * that request only: once the pending subscription asks for other editions, the token no longer matches it.
   */
  confirm(id: number, editions: readonly Kind[]): string {
    const bits = editions.reduce((sum, k) => sum | EDITION_BITS[k], 0);
    if (bits === 0) throw new Error(`cannot make a confirm token for subscriber id ${id} without editions`);
    return this.sign('confirm', id, bits, Math.floor((this.clock().getTime() + CONFIRM_TOKEN_TTL_MS) / 1000));
  }

  /**
   * The subscriber (and kind, or editions asked for) a token names, or undefined when it is malformed, tampered,
   * expired or for another purpose.
   */
  verify(token: string, purpose: TokenPurpose): { subscriberId: number; kind?: Kind; editions?: Kind[] } | undefined {
    if (typeof token !== 'string' || token.length > 64 || !/^[A-Za-z0-9_-]+$/.test(token)) return undefined;
    const bytes = Buffer.from(token, 'base64url');
    const payloadLength = BASE_BYTES + (purpose === 'confirm' ? 4 : 0);
    // Only the canonical encoding is accepted: otherwise a changed padding bit would decode to the same bytes.
    if (bytes.length !== payloadLength + MAC_BYTES || bytes.toString('base64url') !== token) return undefined;
    const payload = bytes.subarray(0, payloadLength);
    if (!timingSafeEqual(this.mac(payload), bytes.subarray(payloadLength))) return undefined;
    if (payload[0] !== VERSION || payload[1] !== PURPOSES[purpose]) return undefined;
    const subscriberId = payload.readUIntBE(3, 6);
    if (purpose === 'confirm') {
      // Tokens from before editions were bound (byte 0) are refused: they could confirm any later request.
      const editions = KINDS.filter((k) => payload[2]! & EDITION_BITS[k]);
      if (editions.length === 0 || payload[2]! > 3) return undefined;
      if (payload.readUInt32BE(BASE_BYTES) * 1000 < this.clock().getTime()) return undefined;
      return { subscriberId, editions };
    }
    const kind = CODE_KINDS[payload[2]!];
    if (purpose === 'unsubscribe' ? !kind : payload[2] !== 0) return undefined;
    return kind ? { subscriberId, kind } : { subscriberId };
  }

  private sign(purpose: TokenPurpose, id: number, kind: Kind | number | undefined, expiresAt?: number): string {
    if (!Number.isSafeInteger(id) || id < 1 || id >= 2 ** 48) throw new Error(`cannot make a ${purpose} token for subscriber id ${id}`);
    const payload = Buffer.alloc(BASE_BYTES + (expiresAt === undefined ? 0 : 4));
    payload[0] = VERSION;
    payload[1] = PURPOSES[purpose];
    payload[2] = typeof kind === 'number' ? kind : kind ? KIND_CODES[kind] : 0;
    payload.writeUIntBE(id, 3, 6);
    if (expiresAt !== undefined) payload.writeUInt32BE(expiresAt, BASE_BYTES);
    return Buffer.concat([payload, this.mac(payload)]).toString('base64url');
  }

  private mac(payload: Buffer): Buffer {
    return createHmac('sha256', this.key).update(payload).digest().subarray(0, MAC_BYTES);
  }
}

/** The personal links for one recipient of one kind: `${baseUrl}/unsubscribe/<t>`, `${baseUrl}/preferences/<t>`. */
export function recipientLinks(baseUrl: string, tokens: Tokens, subscriberId: number, kind: Kind): RecipientLinks {
  return {
    unsubscribeUrl: `${baseUrl}/unsubscribe/${tokens.unsubscribe(subscriberId, kind)}`,
    preferencesUrl: `${baseUrl}/preferences/${tokens.preferences(subscriberId)}`,
  };
}

/** The confirmation link for a pending subscriber's request for `editions`. */
export function confirmUrl(baseUrl: string, tokens: Tokens, subscriberId: number, editions: readonly Kind[]): string {
  return `${baseUrl}/confirm/${tokens.confirm(subscriberId, editions)}`;
}
