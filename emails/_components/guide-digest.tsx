/** @jsxRuntime automatic */
/** @jsxImportSource react */
import type { FeaturedGuide } from '../../src/editions/compose.ts';
import { button, cellType, colors, label, serif, sizes } from '../theme.ts';
import { readingTime, shortDate } from './format.ts';
import { Cell, LayoutTable } from './layout-table.tsx';
import { MarkdownBlock } from './markdown-block.tsx';

interface GuideDigestProps {
  featured: FeaturedGuide;
  /** Link to the full guide: guide.url or `${baseUrl}/guides/<slug>`. */
  guideUrl: string;
  accent: string;
  timezone: string;
}

const subheading = (color: string) => ({ ...label(color), margin: '18px 0 6px' });

/** A featured guide: TL;DR, key takeaways, recent developments, its paired news and a link to the whole guide. */
export const GuideDigest = ({ featured, guideUrl, accent, timezone }: GuideDigestProps) => {
  const { guide, related } = featured;
  return (
    <LayoutTable style={{ margin: '0 0 20px' }}>
      <Cell
        style={{
          backgroundColor: colors.digestBg,
          color: colors.digestText,
          borderLeft: `4px solid ${accent}`,
          padding: '20px 22px 22px',
          ...cellType(),
        }}
      >
        <p style={label(accent)}>{`Guide · ${guide.kind} · ${readingTime(guide.readingMinutes)}`}</p>
        <p style={{ margin: '0 0 12px', ...serif(sizes.guideTitle, 1.25) }}>
          <a href={guideUrl} style={{ color: colors.digestText, textDecoration: 'none' }} target="_blank">
            {guide.title}
          </a>
        </p>
        <p style={{ margin: '0 0 4px' }}>
          <strong>TL;DR </strong>
          {guide.tldr}
        </p>

        <p style={subheading(accent)}>Key takeaways</p>
        <ul style={{ margin: '0', padding: '0 0 0 22px', fontSize: `${sizes.body - 1}px`, lineHeight: 1.55 }}>
          {guide.takeaways.map((takeaway, i) => (
            <li key={i} style={{ margin: '0 0 6px' }}>
              {takeaway}
            </li>
          ))}
        </ul>

        {guide.recent.trim() !== '' && (
          <>
            <p style={subheading(accent)}>Recent developments</p>
            <MarkdownBlock markdown={guide.recent} />
          </>
        )}

        {related.length > 0 && (
          <>
            <p style={{ margin: '20px 0 8px', ...serif(17, 1.35) }}>{`More on ${guide.title}`}</p>
            {/* The list's type is set once on a div inside the cell (as MJML's mj-text does), not on each item. */}
            <div style={{ fontSize: '15px', lineHeight: 1.45 }}>
              {related.map((item) => (
                <p key={item.url} style={{ margin: '0 0 10px' }}>
                  <a href={item.url} style={{ color: colors.link, textDecoration: 'underline' }} target="_blank">
                    {item.title}
                  </a>
                  <br />
                  <span style={{ fontSize: `${sizes.small}px`, color: colors.muted }}>{`${item.source} · ${shortDate(item.published, timezone)}`}</span>
                </p>
              ))}
            </div>
          </>
        )}

        {/* 14px/24px: the paragraph the button sits in sets the line the inline-block button is drawn on. */}
        <p style={{ margin: '18px 0 0', fontSize: '14px', lineHeight: '24px' }}>
          <a href={guideUrl} style={button()} target="_blank">
            Read the full guide →
          </a>
        </p>
      </Cell>
    </LayoutTable>
  );
};
