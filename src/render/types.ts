import type { Kind } from '../config.ts';

/** The per-recipient links a copy carries. */
export interface RecipientLinks {
  unsubscribeUrl: string;
  preferencesUrl: string;
}

/** Site-wide values every edition needs. */
export interface RenderOptions {
  baseUrl: string;
  postalAddress: string;
  timezone: string;
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
