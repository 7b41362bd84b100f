import { Parser } from 'htmlparser2';

/** One start tag met while scanning, with the background it sits on. */
export interface ScannedElement {
  name: string;
  /** Attributes as a browser reads them: lowercase names, entities decoded, the first of a repeated name wins. */
  attrs: Record<string, string>;
  /** Every attribute as written, repeats included (a check may want to see the ones a browser ignores). */
  attrList: [name: string, value: string][];
  style: Record<string, string>;
  /** The nearest background colour on this element or an ancestor, if any. */
  background: string | undefined;
  /** Index of the start tag in the HTML. */
  offset: number;
  /** Inside an Outlook conditional comment (`<!--[if mso]>…<![endif]-->`), which Outlook renders. */
  conditional: boolean;
}

export interface ScanResult {
  elements: ScannedElement[];
  /** Contents of <style> elements. */
  styles: string[];
  /** Text of the first hidden element (display:none): the preheader. */
  hiddenText: string | undefined;
}

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

/** `<!--[if mso]>…<![endif]-->`: the comment's text is markup that Outlook renders. */
const CONDITIONAL_COMMENT = /^\[if [^\]]*\]>([\s\S]*?)(?:<!\[endif\])?$/i;

interface ScanState extends ScanResult {
  stack: { name: string; background: string | undefined }[];
  /** -1: no hidden element met yet; >= 0: inside it (its stack depth); -2: done. */
  hiddenDepth: number;
}

/** Feeds `html` through a real HTML parser (htmlparser2) into `state`; `base` offsets nested markup. */
function scanInto(html: string, state: ScanState, base: number, conditional: boolean): void {
  const { elements, styles, stack } = state;
  let attrList: [string, string][] = [];
  let rawText: 'style' | 'script' | undefined;
  const parser = new Parser(
    {
      onattribute(name, value) {
        attrList.push([name, value]);
      },
      onopentag(name, attrs) {
        const style = parseStyle(attrs.style ?? '');
        const background = backgroundOf(style, attrs) ?? stack.at(-1)?.background;
        elements.push({ name, attrs: { ...attrs }, attrList, style, background, offset: base + parser.startIndex, conditional });
        attrList = [];
        if (name === 'style' || name === 'script') {
          rawText = name;
          if (name === 'style') styles.push('');
        }
        if (state.hiddenDepth === -1 && style.display?.toLowerCase() === 'none') {
          state.hiddenDepth = stack.length;
          state.hiddenText = '';
        }
        stack.push({ name, background });
      },
      ontext(text) {
        if (rawText === 'style') styles[styles.length - 1] += text;
        else if (rawText === undefined && state.hiddenDepth >= 0) state.hiddenText += text;
      },
      onclosetag(name) {
        if (name === rawText) rawText = undefined;
        const at = stack.map((e) => e.name).lastIndexOf(name);
        if (at >= 0) stack.length = at;
        if (state.hiddenDepth >= 0 && stack.length <= state.hiddenDepth) state.hiddenDepth = -2; // only the first hidden element
      },
      oncomment(text) {
        const inner = CONDITIONAL_COMMENT.exec(text);
        // 4 = the length of '<!--' before the comment's text.
        if (inner) scanInto(inner[1]!, state, base + parser.startIndex + 4 + text.indexOf(inner[1]!), true);
      },
    },
    { decodeEntities: true, lowerCaseTags: true, lowerCaseAttributeNames: true, recognizeSelfClosing: false },
  );
  parser.end(html);
}

/**
 * Reads HTML as a browser (and Outlook) would, with a real parser: repeated attributes keep the
 * first value, unquoted values, comments and raw text (<title>, <textarea>, <style>) are tokenised
 * by the HTML rules, and the markup inside Outlook conditional comments is read too. Tracks the
 * element stack so each element knows the background it sits on.
 */
export function scanHtml(html: string): ScanResult {
  const state: ScanState = { elements: [], styles: [], hiddenText: undefined, stack: [], hiddenDepth: -1 };
  scanInto(html, state, 0, false);
  return { elements: state.elements, styles: state.styles, hiddenText: state.hiddenText };
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
