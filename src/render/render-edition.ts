import { render, toPlainText } from '@react-email/render';
import { createElement } from 'react';
import ConfirmSubscriptionEmail, { confirmSubject } from '../../emails/confirm-subscription.tsx';
import { EditionLayout } from '../../emails/_components/edition-layout.tsx';
import type { Kind } from '../config.ts';
import type { Edition } from '../editions/compose.ts';
import { editionText } from './edition-text.ts';
import { escapeHtml } from './markdown.ts';
import { sizes } from '../../emails/theme.ts';
import { SLOTS, SLOT_LINKS, SLOT_PATTERN, assertLinks, type SlotName } from './slots.ts';
import type { RecipientLinks, RenderedEdition, RenderOptions } from './types.ts';

export type { RecipientLinks, RenderedEdition, RenderOptions } from './types.ts';

/** Refuses content that contains a slot marker, which personalisation would otherwise fill. */
function assertNoMarkers(edition: Edition): void {
  const file = edition.choices?.file ?? `the edition file of ${edition.id}`;
  const texts: [string, string][] = [
    [file, `${edition.subject}\n${edition.preheader}\n${edition.letter ?? ''}`],
    ...(edition.sponsor ? [[file, `${edition.sponsor.name}\n${edition.sponsor.text}\n${edition.sponsor.url}`] as [string, string]] : []),
    ...edition.news.map((n): [string, string] => [n.file, `${n.title}\n${n.source}\n${n.summary}\n${n.url}\n${n.why ?? ''}`]),
    ...edition.guides.map(({ guide: g }): [string, string] => [g.file, `${g.title}\n${g.kind}\n${g.tldr}\n${g.takeaways.join('\n')}\n${g.recent}`]),
  ];
  for (const [file, text] of texts) {
    if (/%%ALMANAC_/.test(text)) throw new Error(`cannot render ${edition.id}: ${file} contains the reserved marker %%ALMANAC_`);
  }
}

/**
 * Wraps the 600 px container in an Outlook-only "ghost" table. Outlook for Windows draws with Word,
 * which ignores `max-width`, so without it the edition spans the whole reading pane; the
 * conditional comments are invisible to every other client. React cannot emit comments, so they
 * are placed around the rendered container: the first table with the container's max-width, up to
 * its matching end tag.
 */
export function withOutlookContainer(html: string, what: string): string {
  const width = sizes.containerWidth;
  const start = html.search(new RegExp(`<table(?=[^>]*max-width:${width}px)`));
  let close = -1;
  if (start !== -1) {
    const tags = /<table[\s>]|<\/table>/g;
    tags.lastIndex = start;
    for (let depth = 0, m = tags.exec(html); m; m = tags.exec(html)) {
      depth += m[0] === '</table>' ? -1 : 1;
      if (depth === 0) {
        close = tags.lastIndex;
        break;
      }
    }
  }
  if (close === -1) throw new Error(`cannot render ${what}: the ${width} px container was not found`);
  return (
    html.slice(0, start) +
    `<!--[if mso]><table role="presentation" align="center" width="${width}" border="0" cellpadding="0" cellspacing="0"><tr><td><![endif]-->` +
    html.slice(start, close) +
    '<!--[if mso]></td></tr></table><![endif]-->' +
    html.slice(close)
  );
}

/** Renders an edition once: the HTML with one React render, the text part from the same edition; both hold slots. */
export async function renderEdition(edition: Edition, options: RenderOptions): Promise<RenderedEdition> {
  assertNoMarkers(edition);
  let html: string;
  try {
    html = withOutlookContainer(await render(createElement(EditionLayout, { edition, links: SLOT_LINKS, site: options })), edition.id);
  } catch (cause) {
    throw new Error(`cannot render edition ${edition.id}`, { cause });
  }
  return {
    id: edition.id,
    kind: edition.kind,
    subject: edition.subject,
    preheader: edition.preheader,
    html,
    text: editionText(edition, SLOT_LINKS, options),
  };
}

function fill(template: string, values: Partial<Record<SlotName, string>>, what: string): string {
  let out = template;
  for (const name of Object.keys(SLOTS) as SlotName[]) if (values[name] !== undefined) out = out.split(SLOTS[name]).join(values[name]);
  const left = out.match(SLOT_PATTERN);
  if (left) throw new Error(`cannot personalise ${what}: slot ${left[0]} left unfilled`);
  return out;
}

/** Fills the per-recipient slots (values HTML-escaped in the HTML part); throws if any slot is left unfilled. */
export function personalise(rendered: RenderedEdition, links: RecipientLinks): { html: string; text: string } {
  assertLinks(links, rendered.id);
  const raw = { unsubscribeUrl: links.unsubscribeUrl, preferencesUrl: links.preferencesUrl, trackingReader: links.trackingReader };
  const escaped = { unsubscribeUrl: escapeHtml(links.unsubscribeUrl), preferencesUrl: escapeHtml(links.preferencesUrl), trackingReader: links.trackingReader && escapeHtml(links.trackingReader) };
  return { html: fill(rendered.html, escaped, rendered.id), text: fill(rendered.text, raw, rendered.id) };
}

/** The public copy for the web archive: no personal links, both point to `${baseUrl}/subscribe`. */
export function archiveCopy(rendered: RenderedEdition, baseUrl: string): { html: string; text: string } {
  const subscribe = `${baseUrl}/subscribe`;
  return personalise(rendered, { unsubscribeUrl: subscribe, preferencesUrl: subscribe });
}

/** Renders the double opt-in email (no slots: it goes to one person). */
export async function renderConfirmation(input: {
  name: string | null;
  confirmUrl: string;
  editions: Kind[];
  baseUrl: string;
  postalAddress: string;
}): Promise<{ subject: string; html: string; text: string }> {
  try {
    const html = withOutlookContainer(await render(createElement(ConfirmSubscriptionEmail, input)), 'the confirmation email');
    const text = toPlainText(html);
    return { subject: confirmSubject, html, text };
  } catch (cause) {
    throw new Error(`cannot render the confirmation email for ${input.confirmUrl}`, { cause });
  }
}
