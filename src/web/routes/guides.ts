import { ContentError, type Content } from '../../content/loader.ts';
import type { App, Handler } from '../app.ts';
import type { ContentSnapshot } from '../content-cache.ts';
import { guidePage } from '../guide-page.ts';
import { layout } from '../layout.ts';
import { errorReply } from '../pages.ts';
import { topicNames } from '../related.ts';

/** Ages on a page ("5h ago") are kept this fresh: a cached page is rendered again at most this often. */
const AGE_STEP_MS = 10 * 60_000;

/** The content, or undefined (logged) when it is invalid right now. */
export async function currentContent(app: App): Promise<ContentSnapshot | undefined> {
  try {
    return await app.content.current();
  } catch (error) {
    if (!(error instanceof ContentError)) throw error;
    app.log(`content unavailable: ${error.message.split('\n')[0]}`);
    return undefined;
  }
}

const namesByContent = new WeakMap<Content, Map<string, string>>();

/** Topic display names for one loaded content, worked out once. */
export function namesFor(content: Content): Map<string, string> {
  let names = namesByContent.get(content);
  if (!names) namesByContent.set(content, (names = topicNames(content)));
  return names;
}

/**
 * `GET /guides/<slug>`: a guide with its related news, guides and topics and a subscribe box, rendered from the
 * content directory once per change of the content (and of the ten minutes its "3h ago" ages are counted in).
 */
export const guidePageRoute: Handler = async (r, app) => {
  const slug = r.params[0]!;
  if (!/^[a-z0-9][a-z0-9-]*$/.test(slug)) return errorReply(404, `There is no guide "${slug}".`, false);
  const snapshot = await currentContent(app);
  if (!snapshot) return errorReply(503, 'Guides are unavailable right now.', false);
  const guide = snapshot.content.guides.find((g) => g.slug === slug);
  if (!guide) return errorReply(404, `There is no guide "${slug}".`, false);
  const step = Math.floor(app.clock().getTime() / AGE_STEP_MS);
  const body = app.pages.get(`guide:${slug}`, `${snapshot.version}@${step}`, () => {
    const now = new Date(step * AGE_STEP_MS);
    return layout(guide.title, guidePage({ guide, content: snapshot.content, names: namesFor(snapshot.content), now }), { wide: true }).value;
  });
  return { status: 200, type: 'html', body };
};
