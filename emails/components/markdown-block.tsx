/** @jsxRuntime automatic */
/** @jsxImportSource react */
import type { CSSProperties } from 'react';
import { markdownToHtml } from '../../src/render/markdown.ts';

interface MarkdownBlockProps {
  markdown: string;
  inline?: boolean;
  style?: CSSProperties;
}

/** Content Markdown through the safe renderer (raw HTML dropped, unsafe links unlinked). */
export const MarkdownBlock = ({ markdown, inline = false, style }: MarkdownBlockProps) => (
  <div style={style} dangerouslySetInnerHTML={{ __html: markdownToHtml(markdown, { inline }) }} />
);
