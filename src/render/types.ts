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
