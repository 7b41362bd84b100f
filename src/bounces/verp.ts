import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Config } from '../config.ts';
import { bareAddress } from '../delivery/transport.ts';
import { MAX_TAGS_PER_MESSAGE } from './limits.ts';

/**
 * VERP tags: the envelope sender of each copy is `local+<tag>@domain`, where the tag names the copy
 * (edition and subscriber) and is signed, so a bounce tells exactly which copy it is about and a
 * forged bounce cannot name anyone. The tag never spells out the recipient's address.
 *
 * Layout (20 bytes, base32 lowercase: 32 characters, because mail systems may lowercase a local part):
 * version (1) | kind (1) | edition date as days since 1970-01-01 (2) | subscriber id (6) | HMAC-SHA256 (first 10).
 */

/** The copy a verified tag names. */
export interface CopyTag {
  editionId: string;
  subscriberId: number;
}

const VERSION = 1;
const KINDS = ['midweek', 'sunday'] as const;
const PAYLOAD_BYTES = 10;
const MAC_BYTES = 10;
const TAG_LENGTH = 32;
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';
const DAY_MS = 86_400_000;

const keys = new Map<string, Buffer>();

function keyFor(secret: string): Buffer {
  let key = keys.get(secret);
  if (!key) {
    // Its own key, derived from the secret: a VERP tag can never pass as a link token or the reverse.
    key = createHmac('sha256', secret).update('almanac verp tags v1').digest();
    keys.set(secret, key);
  }
  return key;
}

function mac(secret: string, payload: Buffer): Buffer {
  return createHmac('sha256', keyFor(secret)).update(payload).digest().subarray(0, MAC_BYTES);
}

function base32(bytes: Buffer): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = ((value << 8) | b) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  return out;
}

function unbase32(text: string): Buffer | undefined {
  const out: number[] = [];
  let bits = 0;
  let value = 0;
  for (const c of text) {
    const v = ALPHABET.indexOf(c);
    if (v < 0) return undefined;
    value = ((value << 5) | v) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/** The signed tag of one copy. Throws on an edition id that is not `YYYY-MM-DD-<kind>` or a bad subscriber id. */
export function verpTag(secret: string, editionId: string, subscriberId: number): string {
  const m = /^(\d{4}-\d{2}-\d{2})-(midweek|sunday)$/.exec(editionId);
  const days = m ? Date.parse(`${m[1]}T00:00:00Z`) / DAY_MS : NaN;
  if (!m || !Number.isInteger(days) || days < 0 || days > 0xffff) throw new Error(`cannot tag a copy of edition ${JSON.stringify(editionId)}`);
  if (!Number.isSafeInteger(subscriberId) || subscriberId < 1 || subscriberId >= 2 ** 48) {
    throw new Error(`cannot tag a copy for subscriber id ${subscriberId}`);
  }
  const payload = Buffer.alloc(PAYLOAD_BYTES);
  payload[0] = VERSION;
  payload[1] = KINDS.indexOf(m[2] as (typeof KINDS)[number]) + 1;
  payload.writeUInt16BE(days, 2);
  payload.writeUIntBE(subscriberId, 4, 6);
  return base32(Buffer.concat([payload, mac(secret, payload)]));
}

/** The copy a tag names, or undefined when it is malformed or its signature does not verify (forged, or another secret). */
export function verifyVerpTag(secret: string, tag: string): CopyTag | undefined {
  const text = tag.toLowerCase();
  if (text.length !== TAG_LENGTH) return undefined;
  const bytes = unbase32(text);
  if (!bytes || bytes.length !== PAYLOAD_BYTES + MAC_BYTES || base32(bytes) !== text) return undefined;
  const payload = bytes.subarray(0, PAYLOAD_BYTES);
  if (!timingSafeEqual(mac(secret, payload), bytes.subarray(PAYLOAD_BYTES))) return undefined;
  const kind = KINDS[payload[1]! - 1];
  if (payload[0] !== VERSION || !kind) return undefined;
  const date = new Date(payload.readUInt16BE(2) * DAY_MS).toISOString().slice(0, 10);
  return { editionId: `${date}-${kind}`, subscriberId: payload.readUIntBE(4, 6) };
}

/**
 * The envelope sender (MAIL FROM, later Return-Path) of one copy: `local+<tag>@domain` of
 * ALMANAC_BOUNCE_ADDRESS when it is set, else the bare address of ALMANAC_FROM as before.
 */
export function verpEnvelopeSender(config: Pick<Config, 'from' | 'bounce'>, secret: string, editionId: string, subscriberId: number): string {
  const address = config.bounce.address;
  if (!address) return bareAddress(config.from);
  const at = address.lastIndexOf('@');
  return `${address.slice(0, at)}+${verpTag(secret, editionId, subscriberId)}${address.slice(at)}`;
}

/**
 * The first `max` distinct `+tag`s the text addresses to the bounce address (any case, in any header
 * or body line), in order of appearance. A tag that is found but does not verify is a forgery sign.
 * One pass over the text whatever it holds: a message stuffed with thousands of tags costs no more
 * than its length (the rest are never collected, compared or verified).
 */
export function tagsAddressedTo(bounceAddress: string, text: string, max = MAX_TAGS_PER_MESSAGE): string[] {
  const at = bounceAddress.lastIndexOf('@');
  const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const pattern = new RegExp(`(?<![A-Za-z0-9._+-])${escape(bounceAddress.slice(0, at))}\\+([A-Za-z0-9]{1,64})${escape(bounceAddress.slice(at))}(?![A-Za-z0-9-]|\\.[A-Za-z0-9])`, 'gi');
  const tags = new Set<string>();
  if (max <= 0) return [];
  for (const m of text.matchAll(pattern)) {
    tags.add(m[1]!.toLowerCase());
    if (tags.size >= max) break;
  }
  return [...tags];
}

/** True when `address` is the bounce address itself or one of its `+tag` forms (case-insensitive). */
export function isBounceAddress(bounceAddress: string, address: string): boolean {
  const a = address.trim().toLowerCase();
  const at = bounceAddress.lastIndexOf('@');
  const local = bounceAddress.slice(0, at).toLowerCase();
  const domain = bounceAddress.slice(at).toLowerCase();
  if (!a.endsWith(domain)) return false;
  const l = a.slice(0, a.length - domain.length);
  return l === local || (l.startsWith(`${local}+`) && /^[a-z0-9]{1,64}$/.test(l.slice(local.length + 1)));
}
