import { PREHEADER_MAX } from '../editions/compose.ts';
import { contrastRatio, scanHtml, type ScannedElement } from './html-scan.ts';
import { SLOTS, SLOT_PATTERN, slotName } from './slots.ts';
import type { RenderedEdition } from './types.ts';

/** Gmail clips messages at about 102 KB and hides the rest, footer and unsubscribe link included. */
export const HTML_MAX_BYTES = 100_000;
/** Room reserved for each slot's eventual value when measuring size before personalisation. */
export const SLOT_VALUE_BYTES = 200;
export const MAX_WIDTH_PX = 600;
export const MIN_CONTRAST = 4.5;

const FORBIDDEN_ELEMENTS = new Set(['script', 'iframe', 'object', 'embed', 'form', 'input', 'button', 'select', 'textarea', 'frame', 'frameset', 'applet', 'base']);
const URL_ATTRS = ['href', 'src', 'action', 'formaction', 'background', 'poster', 'srcset', 'xlink:href'];

function describe(el: ScannedElement): string {
  const text = el.attrs.href ?? el.attrs.src ?? el.attrs.style ?? '';
  const where = el.conditional ? ' in an Outlook conditional comment' : '';
  return `<${el.name}>${text ? ` (${text.length > 70 ? `${text.slice(0, 67)}…` : text})` : ''}${where}`;
}

/** The HTML size as it will be once personalised: bytes now, plus room for each slot's value. */
export function personalisedSize(html: string): number {
  const slots = html.match(SLOT_PATTERN) ?? [];
  return Buffer.byteLength(html) + slots.reduce((sum, marker) => sum + SLOT_VALUE_BYTES - marker.length, 0);
}

function pixels(value: string | undefined): number | undefined {
  const m = value?.match(/^(\d+(?:\.\d+)?)(px)?$/);
  return m ? Number(m[1]) : undefined;
}

/** Whether an href is allowed: absolute http(s), mailto, or (before personalisation) a known slot. */
function hrefProblem(href: string): string | undefined {
  if (href.startsWith('%%')) return slotName(href) ? undefined : `unknown slot ${href}`;
  if (/^mailto:[^\s]+$/i.test(href)) return undefined;
  if (/^https?:\/\/[^\s/]+/i.test(href) && URL.canParse(href)) return undefined;
  return 'not an absolute http(s) or mailto URL';
}

/**
 * Checks a rendered edition against the email-client constraints before anything is sent.
 * Returns one line per problem; empty means it may go out. Checked on the slotted render:
 * slot markers count as valid links here because personalise() throws if any is left unfilled.
 */
export function preSendChecks(rendered: RenderedEdition): string[] {
  const problems: string[] = [];
  const { html, text } = rendered;
  const what = rendered.id;

  const size = personalisedSize(html);
  if (size >= HTML_MAX_BYTES) {
    problems.push(`${what}: HTML part is ${size} bytes once personalised; it must stay under ${HTML_MAX_BYTES} (Gmail clips at ~102 KB and hides the unsubscribe link)`);
  }

  const scan = scanHtml(html);
  const htmlEl = scan.elements.find((e) => e.name === 'html');
  if (!htmlEl?.attrs.lang) problems.push(`${what}: <html> has no lang attribute`);

  const preheader = rendered.preheader.trim();
  if (preheader === '') problems.push(`${what}: preheader is empty`);
  else if (preheader.length > PREHEADER_MAX) problems.push(`${what}: preheader is ${preheader.length} characters; at most ${PREHEADER_MAX}`);
  else if (!scan.hiddenText?.trim().startsWith(preheader)) problems.push(`${what}: preheader is not the first hidden text of the HTML`);

  // Layout: one centred container of at most 600 px, built from tables; nothing wider, no flex/grid/float.
  const container = scan.elements.find((e) => e.name === 'table' && pixels(e.style['max-width']) !== undefined);
  if (!container) problems.push(`${what}: no table container with a max-width in px`);
  else if (pixels(container.style['max-width'])! > MAX_WIDTH_PX) problems.push(`${what}: container max-width is ${container.style['max-width']}; at most ${MAX_WIDTH_PX}px`);
  for (const el of scan.elements) {
    for (const width of [el.attrs.width, el.style.width, el.style['min-width']]) {
      const px = pixels(width);
      if (px !== undefined && px > MAX_WIDTH_PX) problems.push(`${what}: ${describe(el)} is ${px}px wide; the layout must fit ${MAX_WIDTH_PX}px`);
    }
    const display = el.style.display?.toLowerCase();
    if (display === 'flex' || display === 'grid' || el.style.float || el.style.position === 'absolute' || el.style.position === 'fixed') {
      problems.push(`${what}: ${describe(el)} uses CSS layout email clients ignore (flex, grid, float or positioning); use tables`);
    }
  }

  // Colour pairs: body and container declare both; every coloured element sits on a readable background.
  const body = scan.elements.find((e) => e.name === 'body');
  const bodyCell = body && scan.elements.find((e) => e.offset > body.offset && e.name === 'td');
  if (!body?.style['background-color']) problems.push(`${what}: <body> declares no background-color`);
  if (!bodyCell?.style.color || !bodyCell.style['background-color']) problems.push(`${what}: the body's wrapper cell must declare both color and background-color`);
  if (container && (!container.style.color || !container.style['background-color'])) problems.push(`${what}: the container must declare both color and background-color`);
  for (const el of scan.elements) {
    const color = el.style.color;
    if (!color) continue;
    if (!el.background) {
      problems.push(`${what}: ${describe(el)} sets color ${color} with no background colour on it or any ancestor`);
      continue;
    }
    const ratio = contrastRatio(color, el.background);
    if (ratio !== undefined && ratio < MIN_CONTRAST) {
      problems.push(`${what}: ${describe(el)} has contrast ${ratio.toFixed(2)}:1 (${color} on ${el.background}); at least ${MIN_CONTRAST}:1`);
    }
  }

  // Nothing that needs JavaScript, no external CSS, images with alt text.
  for (const el of scan.elements) {
    if (FORBIDDEN_ELEMENTS.has(el.name)) problems.push(`${what}: <${el.name}> is not allowed in email`);
    if (el.name === 'link' && /stylesheet/i.test(el.attrs.rel ?? '')) problems.push(`${what}: external stylesheet ${el.attrs.href ?? ''}`);
    if (el.name === 'img' && el.attrs.alt === undefined) problems.push(`${what}: ${describe(el)} has no alt text`);
    // Every attribute as written, repeats included: a browser reads the first, another client may not.
    for (const [attr, value] of el.attrList) {
      if (attr.startsWith('on')) problems.push(`${what}: ${describe(el)} has an event handler attribute ${attr}`);
      if (/^\s*(javascript|vbscript|data)\s*:/i.test(value) || (attr === 'style' && /javascript\s*:|expression\s*\(/i.test(value))) {
        problems.push(`${what}: ${describe(el)} has a script URL in ${attr}`);
      }
      if (URL_ATTRS.slice(1).includes(attr) && !/^https:\/\//i.test(value)) {
        problems.push(`${what}: ${describe(el)} loads ${attr}=${JSON.stringify(value)}; only absolute https resources`);
      }
      if (attr === 'href' && (el.name === 'a' || el.name === 'area')) {
        const problem = hrefProblem(value);
        if (problem) problems.push(`${what}: link ${JSON.stringify(value)} ${problem}`);
      }
    }
    if ((el.name === 'a' || el.name === 'area') && el.attrs.href === undefined) problems.push(`${what}: link "" has no href`);
  }
  for (const css of scan.styles) {
    if (/@import/i.test(css)) problems.push(`${what}: <style> uses @import (external CSS)`);
    if (/url\(\s*['"]?(?!https:)/i.test(css)) problems.push(`${what}: <style> loads a non-https url()`);
  }

  // The unsubscribe link must be there, in both parts.
  if (!html.includes(SLOTS.unsubscribeUrl)) problems.push(`${what}: the HTML part has no unsubscribe link slot`);
  if (!text.includes(SLOTS.unsubscribeUrl)) problems.push(`${what}: the text part has no unsubscribe link slot`);
  if (!text.includes(SLOTS.preferencesUrl)) problems.push(`${what}: the text part has no preferences link slot`);
  return problems;
}
