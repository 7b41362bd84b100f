/** @jsxRuntime automatic */
/** @jsxImportSource react */
import { Link, Section, Text } from '@react-email/components';
import type { FeaturedGuide } from '../../src/editions/compose.ts';
import { button, colors, fonts, label, sizes, text } from '../theme.ts';
import { shortDate } from './format.ts';
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
    <Section
      style={{
        margin: '0 0 20px',
        backgroundColor: colors.digestBg,
        color: colors.digestText,
        borderLeft: `4px solid ${accent}`,
        padding: '20px 22px 22px',
      }}
    >
      <Text style={label(accent)}>Guide · {guide.kind}</Text>
      <Text style={{ margin: '0 0 12px', fontFamily: fonts.serif, fontSize: `${sizes.guideTitle}px`, lineHeight: 1.25, fontWeight: 700, color: colors.digestText }}>
        <Link href={guideUrl} style={{ color: colors.digestText, textDecoration: 'none' }}>
          {guide.title}
        </Link>
      </Text>
      <Text style={{ ...text, margin: '0 0 4px' }}>
        <strong style={{ color: colors.digestText }}>TL;DR </strong>
        {guide.tldr}
      </Text>

      <Text style={subheading(accent)}>Key takeaways</Text>
      <ul style={{ margin: '0', padding: '0 0 0 22px', fontFamily: fonts.sans, fontSize: `${sizes.body - 1}px`, lineHeight: 1.55, color: colors.digestText }}>
        {guide.takeaways.map((takeaway, i) => (
          <li key={i} style={{ margin: '0 0 6px', color: colors.digestText }}>
            {takeaway}
          </li>
        ))}
      </ul>

      {guide.recent.trim() !== '' && (
        <>
          <Text style={subheading(accent)}>Recent developments</Text>
          <MarkdownBlock markdown={guide.recent} />
        </>
      )}

      {related.length > 0 && (
        <>
          <Text style={{ margin: '20px 0 8px', fontFamily: fonts.serif, fontSize: '17px', lineHeight: 1.35, fontWeight: 700, color: colors.digestText }}>
            More on {guide.title}
          </Text>
          {related.map((item) => (
            <Text key={item.url} style={{ margin: '0 0 10px', fontFamily: fonts.sans, fontSize: '15px', lineHeight: 1.45, color: colors.digestText }}>
              <Link href={item.url} style={{ color: colors.link, textDecoration: 'underline' }}>
                {item.title}
              </Link>
              <br />
              <span style={{ fontSize: `${sizes.small}px`, color: colors.muted }}>
                {item.source} · {shortDate(item.published, timezone)}
              </span>
            </Text>
          ))}
        </>
      )}

      <Text style={{ margin: '18px 0 0' }}>
        <Link
          href={guideUrl}
          style={button()}
        >
          Read the full guide →
        </Link>
      </Text>
    </Section>
  );
};
