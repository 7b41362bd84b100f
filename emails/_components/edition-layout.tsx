/** @jsxRuntime automatic */
/** @jsxImportSource react */
import { Body, Head, Html, Preview } from '@react-email/components';
import { KIND_NAMES } from '../../src/editions/calendar.ts';
import type { Edition } from '../../src/editions/compose.ts';
import type { RecipientLinks, RenderOptions } from '../../src/render/types.ts';
import { accents, cellType, colors, sizes } from '../theme.ts';
import { EditorsLetter } from './editors-letter.tsx';
import { Footer } from './footer.tsx';
import { GuideDigest } from './guide-digest.tsx';
import { Cell, LayoutTable } from './layout-table.tsx';
import { Masthead } from './masthead.tsx';
import { ReviewNote } from './review-note.tsx';
import { NewsItem } from './news-item.tsx';
import { SectionLabel } from './section-label.tsx';
import { SponsorBlock } from './sponsor-block.tsx';

export interface EditionEmailProps {
  edition: Edition;
  links: RecipientLinks;
  site: RenderOptions;
}

/** The public archive copy of an edition. */
export function archiveUrl(baseUrl: string, editionId: string): string {
  return `${baseUrl}/archive/${editionId}`;
}

/** The full guide: the editor's URL, else the archive site's guide page. */
export function guideUrl(baseUrl: string, guide: { slug: string; url: string | undefined }): string {
  return guide.url ?? `${baseUrl}/guides/${guide.slug}`;
}

function countLine(edition: Edition): string {
  const stories = `${edition.news.length} ${edition.news.length === 1 ? 'story' : 'stories'}`;
  const guides = `${edition.guides.length} ${edition.guides.length === 1 ? 'guide' : 'guides'}`;
  return edition.kind === 'sunday'
    ? `The week in review: the ${stories} that mattered most since last Sunday, and ${guides} to catch up on.`
    : `The week so far: ${stories} since Sunday, and ${guides} worth your time.`;
}

/** The news and guides sections: paper, ink and body type, which the paragraphs inside inherit. */
const paperCell = { backgroundColor: colors.paper, color: colors.ink, ...cellType() };

/** The whole edition email, both kinds; the kind shows in the masthead's name, number and date. */
export const EditionLayout = ({ edition, links, site }: EditionEmailProps) => {
  const accent = accents[edition.kind];
  const archive = site.archived === false ? undefined : archiveUrl(site.baseUrl, edition.id);
  const sponsorAt = (position: 'top' | 'middle' | 'end') => (edition.sponsor?.position === position ? <SponsorBlock sponsor={edition.sponsor} /> : null);
  return (
    <Html lang="en">
      <Head>
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="color-scheme" content="light" />
        <meta name="supported-color-schemes" content="light" />
        <title>{edition.subject}</title>
      </Head>
      <Preview>{edition.preheader}</Preview>
      <Body style={{ margin: '0', padding: '0 8px 24px', backgroundColor: colors.page, color: colors.pageText }}>
        <LayoutTable
          align="center"
          style={{
            maxWidth: `${sizes.containerWidth}px`,
            width: '100%',
            backgroundColor: colors.paper,
            color: colors.ink,
            overflowWrap: 'anywhere',
            wordBreak: 'break-word',
          }}
        >
          {site.review ? <ReviewNote review={site.review} /> : null}
          <Masthead kind={edition.kind} number={edition.number} date={edition.date} archiveUrl={archive} />
          {edition.letter ? <EditorsLetter letter={edition.letter} /> : null}
          {sponsorAt('top')}

          <Cell style={{ ...paperCell, padding: `24px ${sizes.gutter}px 8px` }}>
            {edition.empty ? (
              <p style={{ margin: '0 0 12px' }}>
                {`No news was published in this ${KIND_NAMES[edition.kind]} edition’s window. The guides below are still worth a read.`}
              </p>
            ) : (
              <>
                <p style={{ margin: '0 0 22px', fontSize: '15px', color: colors.muted }}>{countLine(edition)}</p>
                <SectionLabel>{edition.kind === 'sunday' ? 'The week’s news' : 'News so far this week'}</SectionLabel>
                <LayoutTable>
                  {edition.news.map((item, i) => (
                    <NewsItem key={item.url} item={item} timezone={site.timezone} divider={i > 0} />
                  ))}
                </LayoutTable>
              </>
            )}
          </Cell>
          {sponsorAt('middle')}

          {edition.guides.length > 0 && (
            <Cell style={{ ...paperCell, padding: `16px ${sizes.gutter}px 12px` }}>
              <SectionLabel>{edition.guides.length === 1 ? 'The guide' : 'The guides'}</SectionLabel>
              <div style={{ height: '16px', lineHeight: '16px', fontSize: '1px' }}>&nbsp;</div>
              {edition.guides.map((featured) => (
                <GuideDigest
                  key={featured.guide.slug}
                  featured={featured}
                  guideUrl={guideUrl(site.baseUrl, featured.guide)}
                  accent={accent.accentOnPaper}
                  timezone={site.timezone}
                />
              ))}
            </Cell>
          )}
          {sponsorAt('end')}

          <Footer
            kind={edition.kind}
            number={edition.number}
            links={links}
            archiveUrl={archive}
            baseUrl={site.baseUrl}
            postalAddress={site.postalAddress}
          />
        </LayoutTable>
      </Body>
    </Html>
  );
};
