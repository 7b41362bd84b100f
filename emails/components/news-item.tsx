/** @jsxRuntime automatic */
/** @jsxImportSource react */
import { Link, Section, Text } from '@react-email/components';
import type { NewsItem as NewsItemData } from '../../src/content/loader.ts';
import { colors, fonts, sizes } from '../theme.ts';
import { shortDate } from './format.ts';
import { Importance } from './importance.tsx';
import { MarkdownBlock } from './markdown-block.tsx';

interface NewsItemProps {
  item: NewsItemData;
  timezone: string;
  /** Draws a rule above the item (every item but the first). */
  divider: boolean;
}

/** One news item: source, date and importance, the headline linked to the source, the summary. */
export const NewsItem = ({ item, timezone, divider }: NewsItemProps) => (
  <Section style={{ padding: '18px 0 6px', borderTop: divider ? `1px solid ${colors.rule}` : 'none' }}>
    <Text style={{ margin: '0 0 6px', fontFamily: fonts.sans, fontSize: `${sizes.small}px`, lineHeight: 1.5, color: colors.muted }}>
      <span style={{ fontWeight: 700, color: colors.muted }}>{item.source}</span> · {shortDate(item.published, timezone)}
      {' · '}
      <Importance score={item.score} />
    </Text>
    <Text style={{ margin: '0 0 8px', fontFamily: fonts.serif, fontSize: `${sizes.headline}px`, lineHeight: 1.3, fontWeight: 700, color: colors.ink }}>
      <Link href={item.url} style={{ color: colors.ink, textDecoration: 'none' }}>
        {item.title}
      </Link>
    </Text>
    <MarkdownBlock markdown={item.summary} />
  </Section>
);
