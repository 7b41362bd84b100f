/** @jsxRuntime automatic */
/** @jsxImportSource react */
import type { CSSProperties } from 'react';
import { markdownToHtml } from '../../src/render/markdown.ts';
import { emailMarkdownStyles } from '../theme.ts';

interface MarkdownBlockProps {
  markdown: string;
  inline?: boolean;
  style?: CSSProperties;
}

/**
 * Content Markdown through the safe renderer (raw HTML dropped, unsafe links unlinked), styled for
 * a cell that sets the body type (cellType) and ink colour.
 */
export const MarkdownBlock = ({ markdown, inline = false, style }: MarkdownBlockProps) => (
  <div style={style} dangerouslySetInnerHTML={{ __html: markdownToHtml(markdown, { inline, styles: emailMarkdownStyles }) }} />
);
