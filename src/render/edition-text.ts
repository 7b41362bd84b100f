import { archiveUrl, guideUrl } from '../../emails/_components/edition-layout.tsx';
import { editionLine, readingTime, shortDate, siteHost } from '../../emails/_components/format.ts';
import type { Sponsor } from '../content/loader.ts';
import { accents } from '../../emails/theme.ts';
import { KIND_NAMES } from '../editions/calendar.ts';
import { NEWSLETTER_NAME, type Edition } from '../editions/compose.ts';
import { markdownToText } from './markdown.ts';
import type { RecipientLinks, RenderOptions, ReviewNote } from './types.ts';

const RULE = '='.repeat(60);
const THIN = '-'.repeat(60);

/** The sponsor block of the text part: labelled, set apart by rules, its URL as it is (never tracked). */
function sponsorText(sponsor: Sponsor): string[] {
  return ['SPONSOR', THIN, sponsor.name, sponsor.text, sponsor.url, THIN, ''];
}

/** The note above an editor's review copy (the HTML part has the same). */
function reviewText(review: ReviewNote): string[] {
  const checks = review.checks.length === 0 ? 'ok' : `${review.checks.length} problem(s):\n${review.checks.map((c) => `  - ${c}`).join('\n')}`;
  return [
    'REVIEW COPY FOR THE EDITORS: subscribers do not get this note',
    `State: ${review.state}`,
    `Sends: ${review.sendAt}`,
    review.command,
    `Pre-send checks: ${checks}`,
    ...(review.changes ? [review.changes] : []),
    RULE,
    '',
  ];
}

function indent(text: string, prefix: string): string {
  return text
    .split('\n')
    .map((line) => (line ? `${prefix}${line}` : line))
    .join('\n');
}

/**
 * The text/plain part, built from the edition rather than converted from the HTML, so it reads
 * as a letter: the editor's letter, every headline with its URL on its own line and why it matters,
 * the guides' TL;DR, takeaways and recent developments, the sponsor block where the edition file
 * places it, and the footer links. Same slots as the HTML.
 */
export function editionText(edition: Edition, links: RecipientLinks, site: RenderOptions): string {
  const kindName = KIND_NAMES[edition.kind];
  const archive = site.archived === false ? [] : [`View in browser: ${archiveUrl(site.baseUrl, edition.id)}`];
  const out: string[] = [
    ...(site.review ? reviewText(site.review) : []),
    NEWSLETTER_NAME.toUpperCase(),
    editionLine(kindName, edition.number, edition.date),
    accents[edition.kind].kicker,
    RULE,
    '',
    ...(archive.length > 0 ? [...archive, ''] : []),
  ];
  const sponsorAt = (position: Sponsor['position']) => (edition.sponsor?.position === position ? sponsorText(edition.sponsor) : []);
  if (edition.letter) out.push(markdownToText(edition.letter), '', THIN, '');
  out.push(...sponsorAt('top'));

  if (edition.empty) {
    out.push(`No news was published in this ${kindName} edition's window.`, '');
  } else {
    out.push(edition.kind === 'sunday' ? "THE WEEK'S NEWS" : 'NEWS SO FAR THIS WEEK', THIN, '');
    edition.news.forEach((item, i) => {
      out.push(
        `${i + 1}. ${item.title}`,
        `   ${item.source} · ${shortDate(item.published, site.timezone)} · Importance ${item.score}/10`,
        `   ${item.url}`,
        '',
        indent(markdownToText(item.summary), '   '),
        '',
        ...(item.why ? [indent(`Why it matters: ${item.why}`, '   '), ''] : []),
      );
    });
  }
  out.push(...sponsorAt('middle'));

  if (edition.guides.length > 0) {
    out.push(edition.guides.length === 1 ? 'THE GUIDE' : 'THE GUIDES', THIN, '');
    for (const { guide, related } of edition.guides) {
      const url = guideUrl(site.baseUrl, guide);
      out.push(`${guide.title} (Guide · ${guide.kind} · ${readingTime(guide.readingMinutes)})`, url, '', `TL;DR: ${guide.tldr}`, '', 'Key takeaways:');
      for (const takeaway of guide.takeaways) out.push(indent(`- ${takeaway}`, '  ').replace(/\n/g, '\n    '));
      out.push('');
      if (guide.recent.trim() !== '') out.push('Recent developments:', '', indent(markdownToText(guide.recent), '  '), '');
      if (related.length > 0) {
        out.push(`More on ${guide.title}:`);
        for (const item of related) out.push(`  - ${item.title} (${item.source})`, `    ${item.url}`);
        out.push('');
      }
      out.push(`Read the full guide: ${url}`, '', THIN, '');
    }
  }
  out.push(...sponsorAt('end'));

  out.push(
    `You get the ${kindName} edition of ${NEWSLETTER_NAME} because you subscribed at ${siteHost(site.baseUrl)}.`,
    'Reply to this email to reach the editors.',
    '',
    `Manage preferences: ${links.preferencesUrl}`,
    `Unsubscribe (one click): ${links.unsubscribeUrl}`,
    ...archive,
    '',
    `${NEWSLETTER_NAME} · ${kindName} No. ${edition.number}`,
    site.postalAddress,
    '',
  );
  return out.join('\n');
}
