import { createHash } from 'node:crypto';
import { z } from 'zod';

const emailSchema = z.email().max(254);

/** Trims and lowercases an address; the store keeps every address in this form. */
export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** SHA-256 hex of the normalised address, as kept in the suppressions table. */
export function hashEmail(email: string): string {
  return createHash('sha256').update(normaliseEmail(email)).digest('hex');
}

/** True when the (normalised) address is a syntactically valid email address. */
export function isValidEmail(email: string): boolean {
  return emailSchema.safeParse(normaliseEmail(email)).success;
}
