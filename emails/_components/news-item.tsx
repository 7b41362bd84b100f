/** @jsxRuntime automatic */
/** @jsxImportSource react */
import type { NewsItem as NewsItemData } from '../../src/content/loader.ts';
import { cellType, colors, serif, sizes } from '../theme.ts';
import { shortDate } from './format.ts';
import { Importance } from './importance.tsx';
import { Cell } from './layout-table.tsx';
import { MarkdownBlock } from './markdown-block.tsx';

interface NewsItemProps {
  item: NewsItemData;
  timezone: string;
  /** Draws a rule above the item (every item but the first). */
  divider: boolean;
}

/** One news item, a row of the news table: source, date and importance, the headline linked to the source, the summary and why it matters. */
export const NewsItem = ({ item, timezone, divider }: NewsItemProps) => (
  <Cell style={{ padding: '18px 0 6px', ...(divider ? { borderTop: `1px solid ${colors.rule}` } : {}), ...cellType(), color: colors.ink }}>
    <p style={{ margin: '0 0 6px', fontSize: `${sizes.small}px`, lineHeight: 1.5, color: colors.muted }}>
      <strong>{item.source}</strong>
      {` · ${shortDate(item.published, timezone)} · `}
      <Importance score={item.score} />
    </p>
    <p style={{ margin: '0 0 8px', ...serif(sizes.headline, 1.3) }}>
      <a href={item.url} style={{ color: colors.ink, textDecoration: 'none' }} target="_blank">
        {item.title}
      </a>
    </p>
    <MarkdownBlock markdown={item.summary} />
    {item.why ? (
      <p style={{ margin: '0 0 12px' }}>
        <strong>Why it matters: </strong>
        {item.why}
      </p>
    ) : null}
  </Cell>
);
