import type { CSSProperties } from 'react';
import type { Kind } from '../src/config.ts';

/**
 * Colours come in text/background pairs so dark-mode clients that invert one of them
 * never leave text without its background. Every pair meets WCAG AA (4.5:1).
 */
export const colors = {
  page: '#efe9dd',
  pageText: '#2b2a27',
  paper: '#fffdf8',
  ink: '#1d1f23',
  muted: '#55595f',
  rule: '#e2dccf',
  link: '#0b4f8a',
  mastheadBg: '#1c2733',
  mastheadText: '#f7f1e3',
  mastheadMuted: '#c9d2dc',
  digestBg: '#f5efe2',
  digestText: '#1d1f23',
  badgeBg: '#ece5d6',
  badgeText: '#3b3a36',
  footerBg: '#efe9dd',
  footerText: '#4a4d52',
  codeBg: '#f1ece1',
  codeText: '#2b2a27',
  sponsorBg: '#eef2f6',
  sponsorText: '#1d1f23',
  sponsorMuted: '#4a4f57',
  sponsorBorder: '#c5ced8',
  reviewBg: '#fff3cd',
  reviewText: '#1d1f23',
  reviewBorder: '#b38600',
} as const;

/** Each kind's accent: the masthead rule, kicker and section labels. */
export const accents: Record<Kind, { accent: string; accentOnPaper: string; kicker: string }> = {
  midweek: { accent: '#e0a458', accentOnPaper: '#8a4b08', kicker: 'The week so far' },
  sunday: { accent: '#8fc1a9', accentOnPaper: '#1f6b4f', kicker: 'The week in review' },
};

/**
 * Font stacks, written compactly because they repeat in every text cell: multi-word names unquoted
 * (valid CSS, and a quote costs six bytes once React escapes it as `&#x27;`), no spaces after commas.
 */
export const fonts = {
  serif: 'Georgia,Times New Roman,Times,serif',
  sans: '-apple-system,BlinkMacSystemFont,Segoe UI,Roboto,Helvetica,Arial,sans-serif',
  mono: 'SFMono-Regular,Menlo,Consolas,Liberation Mono,monospace',
} as const;

export const sizes = {
  containerWidth: 600,
  gutter: 28,
  body: 16,
  small: 13,
  tiny: 12,
  headline: 20,
  guideTitle: 24,
  masthead: 34,
  lineHeight: 1.6,
} as const;

/**
 * The type a text cell sets once for everything inside it: paragraphs, links and spans inherit it
 * and declare only what differs. Every cell that holds text declares its own, because Outlook's Word
 * engine does not inherit fonts into nested tables. @default body size and line height
 */
export function cellType(size: number = sizes.body, lineHeight: number = sizes.lineHeight): CSSProperties {
  return { fontFamily: fonts.sans, fontSize: `${size}px`, lineHeight };
}

/** A serif heading's type; the colour comes from its cell. */
export function serif(size: number, lineHeight: number): CSSProperties {
  return { fontFamily: fonts.serif, fontSize: `${size}px`, lineHeight, fontWeight: 700 };
}

/** Body copy on paper, for an element in a cell that sets no type (the confirmation email). */
export const text: CSSProperties = {
  margin: '0 0 12px',
  fontFamily: fonts.sans,
  fontSize: `${sizes.body}px`,
  lineHeight: sizes.lineHeight,
  color: colors.ink,
};

/** A small uppercase label (kicker) in an accent colour, in a cell whose type is sans (cellType). */
export function label(color?: string): CSSProperties {
  return {
    margin: '0 0 8px',
    fontSize: `${sizes.tiny}px`,
    fontWeight: 700,
    letterSpacing: '0.12em',
    textTransform: 'uppercase',
    lineHeight: 1.4,
    color,
  };
}

/**
 * A call-to-action link drawn as a button (dark fill, light text); `large` for the one action of an email.
 * Its font family comes from the paragraph or cell it sits in.
 */
export function button(large = false): CSSProperties {
  return {
    display: 'inline-block',
    padding: large ? '12px 20px' : '10px 16px',
    borderRadius: '4px',
    backgroundColor: colors.mastheadBg,
    color: colors.mastheadText,
    fontSize: large ? '16px' : '14px',
    fontWeight: 700,
    textDecoration: 'none',
  };
}

/** Inline styles for each element the safe Markdown renderer emits; an empty string means none. */
export type MarkdownStyles = Record<'p' | 'h' | 'ul' | 'li' | 'a' | 'strong' | 'em' | 'code' | 'pre' | 'blockquote' | 'hr' | 'table' | 'th' | 'td', string>;

/** Markdown styles for a page that sets no type around the fragment (the web guide pages): each element carries its own. */
export const markdownStyles: MarkdownStyles = {
  p: `margin:0 0 12px;font-family:${fonts.sans};font-size:${sizes.body}px;line-height:${sizes.lineHeight};color:${colors.ink}`,
  h: `margin:18px 0 8px;font-family:${fonts.serif};font-size:18px;line-height:1.3;font-weight:700;color:${colors.ink}`,
  ul: `margin:0 0 12px;padding:0 0 0 22px;font-family:${fonts.sans};font-size:${sizes.body}px;line-height:${sizes.lineHeight};color:${colors.ink}`,
  li: `margin:0 0 6px;color:${colors.ink}`,
  a: `color:${colors.link};text-decoration:underline`,
  strong: 'font-weight:700',
  em: 'font-style:italic',
  code: `font-family:${fonts.mono};font-size:14px;background-color:${colors.codeBg};color:${colors.codeText};padding:1px 4px;border-radius:3px`,
  pre: `margin:0 0 12px;padding:12px;white-space:pre-wrap;word-break:break-word;font-family:${fonts.mono};font-size:13px;line-height:1.5;background-color:${colors.codeBg};color:${colors.codeText}`,
  blockquote: `margin:0 0 12px;padding:0 0 0 14px;border-left:3px solid ${colors.rule};color:${colors.muted}`,
  hr: `border:none;border-top:1px solid ${colors.rule};margin:16px 0`,
  table: `border-collapse:collapse;width:100%;margin:0 0 12px;font-family:${fonts.sans};font-size:14px;color:${colors.ink}`,
  th: `text-align:left;padding:6px 8px;border-bottom:2px solid ${colors.rule};font-weight:700;color:${colors.ink}`,
  td: `text-align:left;padding:6px 8px;border-bottom:1px solid ${colors.rule};color:${colors.ink}`,
};

/**
 * Markdown styles for email, inside a cell that sets cellType() and the ink colour: only what differs
 * from the cell. `strong` and `em` are bold and italic in every client without a style. Two looks are
 * kept as they have always rendered: a quote's paragraphs in ink (the complete `p` style set ink over
 * the quote's muted colour) and tables at `line-height:normal` (their cell set none). A table's cells
 * declare the font family themselves, as Outlook does not inherit it into a nested table.
 */
export const emailMarkdownStyles: MarkdownStyles = {
  ...markdownStyles,
  p: 'margin:0 0 12px',
  h: `margin:18px 0 8px;font-family:${fonts.serif};font-size:18px;line-height:1.3;font-weight:700`,
  ul: 'margin:0 0 12px;padding:0 0 0 22px',
  li: 'margin:0 0 6px',
  strong: '',
  em: '',
  blockquote: `margin:0 0 12px;padding:0 0 0 14px;border-left:3px solid ${colors.rule}`,
  table: `border-collapse:collapse;width:100%;margin:0 0 12px;font-size:14px;line-height:normal;color:${colors.ink}`,
  th: `text-align:left;padding:6px 8px;border-bottom:2px solid ${colors.rule};font-family:${fonts.sans};font-weight:700;color:${colors.ink}`,
  td: `text-align:left;padding:6px 8px;border-bottom:1px solid ${colors.rule};font-family:${fonts.sans};color:${colors.ink}`,
};
