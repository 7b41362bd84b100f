import type { Kind } from '../config.ts';

/** The per-recipient links a copy carries. */
export interface RecipientLinks {
  unsubscribeUrl: string;
  preferencesUrl: string;
  /** The reader part of tracked URLs (ALMANAC_TRACKING_PERSONAL=true, src/tracking/token.ts); needed only when the edition carries its slot. */
  trackingReader?: string;
}

/** Site-wide values every edition needs. */
export interface RenderOptions {
  baseUrl: string;
  postalAddress: string;
  timezone: string;
  /**
   * Whether the edition's public archive page exists (or will, once it is sent): false for a test copy
   * of an edition not sent yet, whose "View in browser" link would lead nowhere, so it is left out.
   * @default true
   */
  archived?: boolean;
  /** A review copy's note for the editors, shown above the edition in both parts (src/publish/review-copies.ts). @default none */
  review?: ReviewNote;
}

/** What an editor's review copy says above the edition. */
export interface ReviewNote {
  /** e.g. `draft (not approved yet)` or `approved by Ada at …`. */
  state: string;
  /** The send time in ALMANAC_TIMEZONE. */
  sendAt: string;
  /** The command that approves it (or that holds it, once approved). */
  command: string;
  /** The pre-send checks' problems; empty when they pass. */
  checks: string[];
  /** How the files now differ from the stored edition, when they do. */
  changes?: string;
}

/** An edition rendered once; `html` and `text` still hold the per-recipient slots. */
export interface RenderedEdition {
  id: string;
  kind: Kind;
  subject: string;
  preheader: string;
  html: string;
  text: string;
}
