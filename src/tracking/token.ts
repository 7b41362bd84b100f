import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Kind } from '../config.ts';

/**
 * Tracked-link tokens: `ALMANAC_BASE_URL/r/<token>`. A token names an edition and one of its links
 * by index (never a URL, so it cannot send anyone elsewhere) and is signed with a key derived from
 * the site secret. The link part is binary, base64url (24 characters):
 *
 *   byte 0      version (high 4 bits) | flags (bit 1: open pixel)
 *   bytes 1–2   the edition's date, days since 2000-01-01
 *   byte 3      the edition's kind (0 midweek, 1 sunday)
 *   bytes 4–5   the link index (0 for the pixel)
 *   last 12     HMAC-SHA256 of the bytes before, truncated to 96 bits
 *
 * With personal tracking a reader part follows after a dot: the subscriber id (6 bytes) and an
 * HMAC of (edition, id) truncated to 64 bits, 19 characters. It is the same for every link of one
 * copy, so the edition is rewritten once and each copy only fills one slot (src/render/slots.ts).
 */

const VERSION = 1;
const FLAG_PIXEL = 2;
const MAC_BYTES = 12;
const READER_MAC_BYTES = 8;
const DAY_MS = 86_400_000;
const EPOCH = Date.UTC(2000, 0, 1);
const KINDS: readonly Kind[] = ['midweek', 'sunday'];

/** What a valid token says. */
export interface TrackingTarget {
  editionId: string;
  /** The link index (1…); 0 with `pixel`. */
  link: number;
  pixel: boolean;
  /** Only in personal tokens. */
  subscriberId: number | undefined;
}

/** Signs and reads tracking tokens with a key derived from the site secret (ALMANAC_SECRET or the stored one). */
export class TrackingTokens {
  private readonly key: Buffer;

  constructor(secret: string) {
    // A key of its own: a tracking token can never be confused with an unsubscribe or preferences token.
    this.key = createHmac('sha256', secret).update('almanac tracking tokens v1').digest();
  }

  /** The link part of a token for an edition's link (or its pixel). */
  sign(target: { editionId: string; link: number; pixel?: boolean }): string {
    const { date, kind } = parseEditionId(target.editionId);
    const body = Buffer.alloc(6);
    body[0] = (VERSION << 4) | (target.pixel ? FLAG_PIXEL : 0);
    body.writeUInt16BE(date, 1);
    body[3] = kind;
    if (!Number.isInteger(target.link) || target.link < 0 || target.link > 0xffff) throw new Error(`link index ${target.link} out of range for ${target.editionId}`);
    body.writeUInt16BE(target.link, 4);
    return Buffer.concat([body, this.mac(body)]).toString('base64url');
  }

  /** The reader part (personal tracking): appended as `.<part>` to every tracked URL of one subscriber's copy. */
  reader(editionId: string, subscriberId: number): string {
    if (!Number.isSafeInteger(subscriberId) || subscriberId < 0 || subscriberId > 0xffffffffffff) throw new Error(`subscriber id ${subscriberId} out of range`);
    const id = Buffer.alloc(6);
    id.writeUIntBE(subscriberId, 0, 6);
    return Buffer.concat([id, this.readerMac(editionId, id)]).toString('base64url');
  }

  /** The target of a token, or undefined for anything not signed by this site (tampered, foreign, malformed). */
  verify(token: string): TrackingTarget | undefined {
    if (token.length > 48) return undefined;
    const dot = token.indexOf('.');
    const linkPart = dot === -1 ? token : token.slice(0, dot);
    if (!/^[A-Za-z0-9_-]{24}$/.test(linkPart)) return undefined;
    const bytes = Buffer.from(linkPart, 'base64url');
    const body = bytes.subarray(0, 6);
    if (bytes.length !== 6 + MAC_BYTES || !timingSafeEqual(bytes.subarray(6), this.mac(body))) return undefined;
    if (body[0]! >> 4 !== VERSION || body[3]! >= KINDS.length) return undefined;
    const date = new Date(EPOCH + body.readUInt16BE(1) * DAY_MS).toISOString().slice(0, 10);
    const editionId = `${date}-${KINDS[body[3]!]}`;
    let subscriberId: number | undefined;
    if (dot !== -1) {
      const readerPart = token.slice(dot + 1);
      if (!/^[A-Za-z0-9_-]{19}$/.test(readerPart)) return undefined;
      const reader = Buffer.from(readerPart, 'base64url');
      const id = reader.subarray(0, 6);
      if (reader.length !== 6 + READER_MAC_BYTES || !timingSafeEqual(reader.subarray(6), this.readerMac(editionId, id))) return undefined;
      subscriberId = id.readUIntBE(0, 6);
    }
    return { editionId, link: body.readUInt16BE(4), pixel: (body[0]! & FLAG_PIXEL) !== 0, subscriberId };
  }

  private mac(body: Buffer): Buffer {
    return createHmac('sha256', this.key).update(body).digest().subarray(0, MAC_BYTES);
  }

  private readerMac(editionId: string, id: Buffer): Buffer {
    return createHmac('sha256', this.key).update(`reader:${editionId}:`).update(id).digest().subarray(0, READER_MAC_BYTES);
  }
}

function parseEditionId(id: string): { date: number; kind: number } {
  const m = /^(\d{4}-\d{2}-\d{2})-(midweek|sunday)$/.exec(id);
  const time = m ? Date.parse(`${m[1]}T00:00:00Z`) : NaN;
  if (!m || Number.isNaN(time) || time < EPOCH) throw new Error(`cannot make a tracking token for edition ${JSON.stringify(id)}: expected YYYY-MM-DD-midweek|sunday from 2000 on`);
  return { date: Math.round((time - EPOCH) / DAY_MS), kind: KINDS.indexOf(m[2] as Kind) };
}
