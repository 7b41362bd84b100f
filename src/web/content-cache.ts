import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { loadValidContent, type Content } from '../content/loader.ts';

/** Loaded content and the state of the files it was loaded from. */
export interface ContentSnapshot {
  content: Content;
  /** Changes whenever a content file is added, removed, renamed or edited. */
  version: string;
}

/**
 * The content directory, loaded once per change instead of once per request. Each call looks at the files' names,
 * sizes and modification times (a directory listing and a stat per file, no reading or parsing); when nothing
 * changed it answers from memory, otherwise it loads again. A failed load (invalid content) is kept for its version
 * too, so a broken file costs one load, not one per request, and the fix shows at the next request.
 */
export class ContentCache {
  private last: { version: string; result: Promise<ContentSnapshot> } | undefined;

  constructor(
    readonly dir: string,
    private readonly load: (dir: string) => Promise<Content> = loadValidContent,
  ) {}

  /** The content as it is on disk now (rejects with ContentError when it is invalid). */
  current(): Promise<ContentSnapshot> {
    const version = this.fingerprint();
    if (this.last?.version !== version) {
      this.last = { version, result: this.load(this.dir).then((content) => ({ content, version })) };
    }
    return this.last.result;
  }

  private fingerprint(): string {
    const parts: string[] = [];
    for (const sub of ['news', 'guides']) {
      const path = join(this.dir, sub);
      let names: string[];
      try {
        names = readdirSync(path).filter((n) => n.endsWith('.md')).sort();
      } catch {
        parts.push(`${sub}:none`);
        continue;
      }
      for (const name of names) {
        try {
          const s = statSync(join(path, name), { bigint: true });
          parts.push(`${sub}/${name}:${s.size}:${s.mtimeNs}:${s.ctimeNs}:${s.ino}`);
        } catch {
          parts.push(`${sub}/${name}:gone`); // removed between listing and stat: the next request sees it settled
        }
      }
    }
    return parts.join('|');
  }
}

/** Rendered pages for one state of the inputs: everything is dropped when the state changes. */
export class PageCache {
  private state: string | undefined;
  private readonly pages = new Map<string, string>();

  /** The page for `key` rendered under `state`, rendering it only the first time. */
  get(key: string, state: string, render: () => string): string {
    if (state !== this.state) {
      this.pages.clear();
      this.state = state;
    }
    let page = this.pages.get(key);
    if (page === undefined) {
      page = render();
      this.pages.set(key, page);
    }
    return page;
  }
}
