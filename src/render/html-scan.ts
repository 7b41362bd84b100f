import { decodeEntities } from './markdown.ts';

/** One start tag met while scanning, with its ancestors' tag names. */
export interface ScannedElement {
  name: string;
  attrs: Record<string, string>;
  style: Record<string, string>;
  /** The nearest background colour on this element or an ancestor, if any. */
  background: string | undefined;
  /** Index of the start tag in the HTML. */
  offset: number;
}

export interface ScanResult {
  elements: ScannedElement[];
  /** Contents of <style> elements. */
  styles: string[];
  /** Text of the first hidden element (display:none): the preheader. */
  hiddenText: string | undefined;
}

const VOID = new Set(['area', 'base', 'br', 'col', 'embed', 'hr', 'img', 'input', 'link', 'meta', 'source', 'track', 'wbr']);
const TOKEN = /<!--[\s\S]*?-->|<![^>]*>|<(\/?)([a-zA-Z][\w:-]*)((?:[^>"']|"[^"]*"|'[^']*')*)>/g;
const ATTR = /([^\s"'>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g;

/** Parses an inline style attribute into lowercase property → value. */
export function parseStyle(style: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const decl of style.split(';')) {
    const colon = decl.indexOf(':');
    if (colon > 0) out[decl.slice(0, colon).trim().toLowerCase()] = decl.slice(colon + 1).trim();
  }
  return out;
}

function backgroundOf(style: Record<string, string>, attrs: Record<string, string>): string | undefined {
  const value = style['background-color'] ?? style.background ?? attrs.bgcolor;
  return value?.match(/#[0-9a-f]{3,8}\b|\b(?:white|black)\b/i)?.[0];
}

/**
 * A small scanner for the HTML we produce ourselves (React Email output plus the safe Markdown
 * fragments): well-formed, double-quoted attributes. It tracks the element stack so each element
 * knows the background it sits on.
 */
export function scanHtml(html: string): ScanResult {
  const elements: ScannedElement[] = [];
  const styles: string[] = [];
  const stack: { name: string; background: string | undefined }[] = [];
  let hiddenText: string | undefined;
  // -1: no hidden element met yet; >= 0: inside it (its stack depth); -2: done.
  let hiddenDepth = -1;
  let last = 0;
  TOKEN.lastIndex = 0;
  for (let m = TOKEN.exec(html); m; m = TOKEN.exec(html)) {
    if (hiddenDepth >= 0 && m.index > last) hiddenText += html.slice(last, m.index);
    last = TOKEN.lastIndex;
    const [whole, slash, rawName, rawAttrs = ''] = m;
    if (!rawName) continue; // comment or doctype
    const name = rawName.toLowerCase();
    if (slash) {
      const at = stack.map((e) => e.name).lastIndexOf(name);
      if (at >= 0) stack.length = at;
      if (hiddenDepth >= 0 && stack.length <= hiddenDepth) hiddenDepth = -2; // only the first hidden element
      continue;
    }
    const attrs: Record<string, string> = {};
    ATTR.lastIndex = 0;
    for (let a = ATTR.exec(rawAttrs); a; a = ATTR.exec(rawAttrs)) {
      attrs[a[1]!.toLowerCase()] = decodeEntities(a[2] ?? a[3] ?? a[4] ?? '');
    }
    const style = parseStyle(attrs.style ?? '');
    const background = backgroundOf(style, attrs) ?? stack.at(-1)?.background;
    elements.push({ name, attrs, style, background, offset: m.index });
    if (name === 'style' || name === 'script') {
      const end = html.toLowerCase().indexOf(`</${name}`, last);
      const body = html.slice(last, end < 0 ? html.length : end);
      if (name === 'style') styles.push(body);
      TOKEN.lastIndex = last = end < 0 ? html.length : end;
      continue;
    }
    if (VOID.has(name) || whole.endsWith('/>')) continue;
    if (hiddenDepth === -1 && style.display?.toLowerCase() === 'none') {
      hiddenDepth = stack.length;
      hiddenText = '';
    }
    stack.push({ name, background });
  }
  return { elements, styles, hiddenText: hiddenText === undefined ? undefined : decodeEntities(hiddenText) };
}

function channel(hex: string, i: number, short: boolean): number {
  const v = short ? parseInt(hex[i]! + hex[i]!, 16) : parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  const c = v / 255;
  return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
}

function luminance(color: string): number | undefined {
  const named: Record<string, string> = { white: 'ffffff', black: '000000' };
  const hex = named[color.toLowerCase()] ?? color.replace(/^#/, '');
  if (!/^([0-9a-f]{3}|[0-9a-f]{6})$/i.test(hex)) return undefined;
  const short = hex.length === 3;
  return 0.2126 * channel(hex, 0, short) + 0.7152 * channel(hex, 1, short) + 0.0722 * channel(hex, 2, short);
}

/** WCAG contrast ratio of two hex colours, or undefined when either is not a plain hex colour. */
export function contrastRatio(a: string, b: string): number | undefined {
  const la = luminance(a);
  const lb = luminance(b);
  if (la === undefined || lb === undefined) return undefined;
  return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
}
