import { NEWSLETTER_NAME } from '../editions/compose.ts';
import { KIND_NAMES } from '../editions/calendar.ts';
import type { ArchivedEdition } from '../store/editions.ts';

/** Escapes text for XML content and attributes, dropping characters XML 1.0 forbids. */
export function escapeXml(text: string): string {
  return text
    .replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '')
    .replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/** RFC 822 date as RSS wants it: `Wed, 25 Nov 2026 07:00:00 GMT`. */
export function rfc822(iso: string): string {
  return new Date(iso).toUTCString();
}

/** RSS 2.0 of sent editions (newest first) with an atom:link to itself. */
export function rssFeed(baseUrl: string, editions: ArchivedEdition[], now: Date): string {
  const items = editions.map((e) => {
    const link = `${baseUrl}/archive/${e.id}`;
    return `    <item>
      <title>${escapeXml(e.subject)}</title>
      <link>${escapeXml(link)}</link>
      <guid isPermaLink="true">${escapeXml(link)}</guid>
      <pubDate>${rfc822(e.sendAt)}</pubDate>
      <category>${escapeXml(KIND_NAMES[e.kind] ?? e.kind)}</category>
      <description>${escapeXml(e.preheader)}</description>
    </item>`;
  });
  const built = editions[0] ? rfc822(editions[0].sendAt) : now.toUTCString();
  return `<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom">
  <channel>
    <title>${escapeXml(NEWSLETTER_NAME)}</title>
    <link>${escapeXml(`${baseUrl}/archive`)}</link>
    <description>${escapeXml(`${NEWSLETTER_NAME}: the Midweek and Sunday editions`)}</description>
    <language>en</language>
    <lastBuildDate>${built}</lastBuildDate>
    <atom:link href="${escapeXml(`${baseUrl}/feed.xml`)}" rel="self" type="application/rss+xml"/>
${items.join('\n')}
  </channel>
</rss>
`;
}
