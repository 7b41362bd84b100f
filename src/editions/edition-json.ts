import type { Edition, EditionChoices } from './compose.ts';

/** The choices an edition file made, as `compose --json` names them. */
function choiceNames(choices: EditionChoices): string[] {
  const names: string[] = [];
  if (choices.subject) names.push('subject');
  if (choices.preheader) names.push('preheader');
  if (choices.pinned.length > 0) names.push('pin');
  if (choices.excluded.length > 0) names.push('exclude');
  if (choices.guides) names.push('guides');
  if (choices.letter) names.push('letter');
  if (choices.sponsor) names.push('sponsor');
  return names;
}

/**
 * The `compose --json` shape fixed in DESIGN.md, plus each news item's `slug` (and `why`, `pinned`),
 * the `letter`, the `sponsor`, and `editionFile`: the file and which choices came from it (null
 * when the edition has no file and the rules alone composed it).
 */
export function editionJson(edition: Edition) {
  const pinned = new Set(edition.choices?.pinned ?? []);
  return {
    id: edition.id,
    kind: edition.kind,
    sendAt: edition.sendAt.toISOString(),
    window: { from: edition.window.from.toISOString(), to: edition.window.to.toISOString() },
    subject: edition.subject,
    preheader: edition.preheader,
    number: edition.number,
    empty: edition.empty,
    news: edition.news.map((n) => ({
      slug: n.slug,
      url: n.url,
      title: n.title,
      score: n.score,
      published: n.published.toISOString(),
      topics: n.topics,
      why: n.why ?? null,
      pinned: pinned.has(n.slug),
    })),
    guides: edition.guides.map((g) => ({
      slug: g.guide.slug,
      title: g.guide.title,
      related: g.related.map((n) => n.url),
      readingMinutes: g.guide.readingMinutes,
    })),
    letter: edition.letter ?? null,
    sponsor: edition.sponsor ?? null,
    editionFile: edition.choices ? { file: edition.choices.file, choices: choiceNames(edition.choices), pinned: edition.choices.pinned, excluded: edition.choices.excluded } : null,
  };
}
