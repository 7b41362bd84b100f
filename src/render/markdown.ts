import { decodeHTMLStrict } from 'entities';
import { Parser } from 'htmlparser2';
import { Lexer, type Token, type Tokens } from 'marked';
import { markdownStyles, type MarkdownStyles } from '../../emails/theme.ts';

/**
 * Safe Markdown for email and the web. We walk marked's tokens ourselves instead of using its
 * renderer, so every byte of output is escaped here: raw HTML in content is dropped (its text kept,
 * escaped; script/style bodies removed), links survive only as http(s) or mailto, images become
 * their alt text. Elements carry inline styles from emails/theme.ts (email clients drop <style>):
 * complete ones by default, or only what differs from the surrounding cell (emailMarkdownStyles).
 */

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for HTML element content and double-quoted attributes. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
}

/**
 * Resolves the character references editors may write (`&eacute;`, `&amp;`, `&#8217;`: every
 * HTML5 named reference, through the `entities` package), so the text is escaped once on output.
 * Strict: only references closed by `;` count, as in CommonMark (`R&D` stays as written).
 * The result is plain text; callers escape it (so `&lt;script&gt;` shows as text, never as a tag).
 */
export function decodeEntities(text: string): string {
  return decodeHTMLStrict(text);
}

/** The URL if it is an absolute http(s) or mailto link, else undefined. */
export function safeHref(href: string): string | undefined {
  const trimmed = href.trim();
  if (!URL.canParse(trimmed)) return undefined;
  const url = new URL(trimmed);
  if (url.protocol === 'http:' || url.protocol === 'https:') return url.href;
  if (url.protocol === 'mailto:' && /^mailto:[^\s<>"]+$/i.test(trimmed)) return trimmed;
  return undefined;
}

/** Elements whose content a reader never sees as text. */
const INVISIBLE = new Set(['script', 'style', 'iframe', 'object', 'template', 'title', 'noscript', 'head']);

/**
 * The visible text of raw HTML, read with a real parser (htmlparser2): tags and comments dropped,
 * the bodies of script/style and the like removed, entities decoded. Callers escape the result.
 */
function htmlText(raw: string): string {
  let text = '';
  let hidden = 0;
  const parser = new Parser(
    {
      onopentag(name) {
        if (INVISIBLE.has(name)) hidden++;
      },
      onclosetag(name) {
        if (INVISIBLE.has(name)) hidden = Math.max(0, hidden - 1);
      },
      ontext(chunk) {
        if (hidden === 0) text += chunk;
      },
    },
    { decodeEntities: true, lowerCaseTags: true, recognizeSelfClosing: false },
  );
  parser.end(raw);
  return text;
}

function lex(markdown: string): Token[] {
  return new Lexer({ gfm: true, breaks: false }).lex(markdown);
}

function tag(name: string, style: string | undefined, inner: string): string {
  return style ? `<${name} style="${style}">${inner}</${name}>` : `<${name}>${inner}</${name}>`;
}

const RAW_TEXT_OPEN = /^<(script|style|iframe|object|template)\b/i;
const RAW_TEXT_CLOSE = /^<\/(script|style|iframe|object|template)\s*>/i;

/** Inline tokens without what sits between an inline <script>/<style> tag and its end tag. */
function visibleTokens(tokens: Token[] | undefined): Token[] {
  const out: Token[] = [];
  let skipping = false;
  for (const token of tokens ?? []) {
    if (token.type === 'html' && RAW_TEXT_OPEN.test((token as Tokens.HTML).text)) skipping = !/<\/(script|style|iframe|object|template)\s*>\s*$/i.test((token as Tokens.HTML).text);
    else if (token.type === 'html' && RAW_TEXT_CLOSE.test((token as Tokens.HTML).text)) skipping = false;
    else if (!skipping) out.push(token);
  }
  return out;
}

function inlineHtml(tokens: Token[] | undefined, css: MarkdownStyles): string {
  let out = '';
  for (const token of visibleTokens(tokens)) out += inlineTokenHtml(token, css);
  return out;
}

function inlineTokenHtml(token: Token, css: MarkdownStyles): string {
  const t = token as Tokens.Generic;
  switch (t.type) {
    case 'text':
      return t.tokens ? inlineHtml(t.tokens, css) : escapeHtml(decodeEntities(t.text as string));
    case 'escape':
      return escapeHtml(t.text as string);
    case 'strong':
      return tag('strong', css.strong, inlineHtml(t.tokens, css));
    case 'em':
      return tag('em', css.em, inlineHtml(t.tokens, css));
    case 'del':
      return tag('del', undefined, inlineHtml(t.tokens, css));
    case 'codespan':
      return tag('code', css.code, escapeHtml(t.text as string));
    case 'br':
      return '<br>';
    case 'link': {
      const inner = inlineHtml(t.tokens, css);
      const href = safeHref(decodeEntities(t.href as string));
      return href ? `<a href="${escapeHtml(href)}" style="${css.a}" target="_blank">${inner}</a>` : inner;
    }
    case 'image':
      return escapeHtml(inlineText(t.tokens));
    case 'html':
      // Inline raw HTML is one tag at a time: dropping it keeps the text between tags.
      return escapeHtml(htmlText(t.text as string));
    case 'checkbox':
      return t.checked ? '☑ ' : '☐ ';
    default:
      return t.tokens ? inlineHtml(t.tokens, css) : escapeHtml(decodeEntities(String(t.text ?? '')));
  }
}

function blockHtml(tokens: Token[], inline: boolean, css: MarkdownStyles): string {
  let out = '';
  for (const token of tokens) out += blockTokenHtml(token, inline, css);
  return out;
}

function blockTokenHtml(token: Token, inline: boolean, css: MarkdownStyles): string {
  const t = token as Tokens.Generic;
  switch (t.type) {
    case 'space':
    case 'def':
      return '';
    case 'paragraph':
      return inline ? inlineHtml(t.tokens, css) : tag('p', css.p, inlineHtml(t.tokens, css));
    case 'heading':
      return inline ? inlineHtml(t.tokens, css) : tag('p', css.h, inlineHtml(t.tokens, css));
    case 'text':
      return inlineTokenHtml(token, css);
    case 'code':
      return tag('pre', css.pre, escapeHtml(t.text as string));
    case 'blockquote':
      return tag('blockquote', css.blockquote, blockHtml(t.tokens ?? [], false, css));
    case 'hr':
      return `<hr style="${css.hr}">`;
    case 'list': {
      const list = t as Tokens.List;
      const name = list.ordered ? 'ol' : 'ul';
      const start = list.ordered && list.start !== '' && list.start !== 1 ? ` start="${Number(list.start)}"` : '';
      const items = list.items.map((item) => tag('li', css.li, listItemHtml(item, css))).join('');
      return `<${name}${start} style="${css.ul}">${items}</${name}>`;
    }
    case 'table': {
      const table = t as Tokens.Table;
      const head = table.header.map((cell) => tag('th', css.th, inlineHtml(cell.tokens, css))).join('');
      const rows = table.rows.map((row) => `<tr>${row.map((cell) => tag('td', css.td, inlineHtml(cell.tokens, css))).join('')}</tr>`).join('');
      return `<table role="presentation" style="${css.table}"><thead><tr>${head}</tr></thead><tbody>${rows}</tbody></table>`;
    }
    case 'html': {
      const visible = htmlText(t.text as string).trim();
      return visible ? tag('p', css.p, escapeHtml(visible)) : '';
    }
    default:
      return inlineTokenHtml(token, css);
  }
}

function listItemHtml(item: Tokens.ListItem, css: MarkdownStyles): string {
  // Tight list items hold `text` tokens; loose ones hold paragraphs, which we keep compact.
  return item.tokens
    .map((token) => (token.type === 'paragraph' ? inlineHtml((token as Tokens.Paragraph).tokens, css) : blockTokenHtml(token, false, css)))
    .join(item.loose ? '<br>' : '');
}

/**
 * Renders Markdown to an HTML fragment safe to inject into an email or web page.
 * `inline: true` drops paragraph wrappers (for one-line texts such as a TL;DR); `styles` are the
 * inline styles per element. @default { inline: false, styles: markdownStyles }
 */
export function markdownToHtml(markdown: string, opts: { inline?: boolean; styles?: MarkdownStyles } = {}): string {
  return blockHtml(lex(markdown), opts.inline ?? false, opts.styles ?? markdownStyles);
}

function inlineText(tokens: Token[] | undefined): string {
  let out = '';
  for (const token of visibleTokens(tokens)) {
    const t = token as Tokens.Generic;
    switch (t.type) {
      case 'text':
        out += t.tokens ? inlineText(t.tokens) : decodeEntities(t.text as string);
        break;
      case 'escape':
      case 'codespan':
        out += t.text as string;
        break;
      case 'br':
        out += '\n';
        break;
      case 'link': {
        const label = inlineText(t.tokens);
        const href = safeHref(decodeEntities(t.href as string));
        out += !href || href === label || `mailto:${label}` === href ? label || href || '' : `${label} (${href})`;
        break;
      }
      case 'image':
        out += inlineText(t.tokens);
        break;
      case 'html':
        out += htmlText(t.text as string);
        break;
      default:
        out += t.tokens ? inlineText(t.tokens) : decodeEntities(String(t.text ?? ''));
    }
  }
  return out;
}

function blockText(tokens: Token[]): string[] {
  const blocks: string[] = [];
  for (const token of tokens) {
    const t = token as Tokens.Generic;
    switch (t.type) {
      case 'space':
      case 'def':
        break;
      case 'heading':
        blocks.push(inlineText(t.tokens).toUpperCase());
        break;
      case 'code':
        blocks.push((t.text as string).split('\n').map((l) => `    ${l}`).join('\n'));
        break;
      case 'blockquote':
        blocks.push(blockText(t.tokens ?? []).join('\n\n').split('\n').map((l) => `> ${l}`).join('\n'));
        break;
      case 'hr':
        blocks.push('----');
        break;
      case 'list': {
        const list = t as Tokens.List;
        const first = typeof list.start === 'number' ? list.start : 1;
        const lines = list.items.map((item, i) => {
          const bullet = list.ordered ? `${first + i}. ` : '- ';
          const body = blockText(item.tokens).join('\n');
          return `${bullet}${body.replace(/\n/g, `\n${' '.repeat(bullet.length)}`)}`;
        });
        blocks.push(lines.join('\n'));
        break;
      }
      case 'table': {
        const table = t as Tokens.Table;
        const rows = [table.header, ...table.rows].map((row) => row.map((cell) => inlineText(cell.tokens)).join(' | '));
        blocks.push(rows.join('\n'));
        break;
      }
      case 'html': {
        const visible = htmlText(t.text as string).trim();
        if (visible) blocks.push(visible);
        break;
      }
      default:
        blocks.push(t.tokens ? inlineText(t.tokens) : decodeEntities(String(t.text ?? '')));
    }
  }
  return blocks.filter((b) => b.trim() !== '');
}

/** Renders Markdown to readable plain text: links as `label (url)`, lists as `- item`, raw HTML as its text. */
export function markdownToText(markdown: string): string {
  return blockText(lex(markdown)).join('\n\n');
}
