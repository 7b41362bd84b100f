import { execFileSync } from 'node:child_process';
import { mkdirSync, renameSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { touchOnChange } from '../scripts/dev.ts';
import type { TreeWatcher } from '../scripts/watch-tree.ts';
import { tempDir } from './helpers.ts';

const LONG_AGO = new Date('2001-01-01T00:00:00Z');
let watcher: TreeWatcher | undefined;

afterEach(() => {
  watcher?.close();
  watcher = undefined;
});

/** Saves as vim does: the new text goes to another file, which is renamed over the old one. */
function saveByRename(path: string, text: string): void {
  writeFileSync(`${path}.swp`, text);
  renameSync(`${path}.swp`, path);
}

/** The content folder, the module the preview server watches (touched long ago), and the touches seen. */
function setup() {
  const dir = tempDir('almanac-dev-watch-');
  mkdirSync(join(dir, 'news'));
  writeFileSync(join(dir, 'news', 'a.md'), 'first\n');
  const target = join(tempDir('almanac-dev-props-'), 'dev-preview-props.ts');
  writeFileSync(target, 'export {};\n');
  utimesSync(target, LONG_AGO, LONG_AGO);
  const touches: string[] = [];
  watcher = touchOnChange(dir, target, (file) => touches.push(file));
  /** Waits until the target was touched again (its mtime moved on), then sets it back. */
  const touched = async (what: string) => {
    const deadline = Date.now() + 15_000;
    while (statSync(target).mtimeMs === LONG_AGO.getTime()) {
      if (Date.now() > deadline) throw new Error(`the preview was not told about ${what} within 15 s (touches so far: ${touches.join(', ')})`);
      await new Promise((r) => setTimeout(r, 50));
    }
    await new Promise((r) => setTimeout(r, 400)); // let the burst's debounce settle before resetting
    utimesSync(target, LONG_AGO, LONG_AGO);
  };
  return { dir, touches, touched };
}

describe('npm run dev follows content saved every way an editor saves', () => {
  test('two saves in a row by rename (vim), then sed -i, then an in-place write: each reloads the preview', async () => {
    const { dir, touches, touched } = setup();
    const file = join(dir, 'news', 'a.md');
    saveByRename(file, 'second\n');
    await touched('the first rename-save');
    saveByRename(file, 'third\n');
    await touched('the second rename-save');
    execFileSync('sed', ['-i', 's/third/fourth/', file]);
    await touched('sed -i');
    writeFileSync(file, 'fifth\n');
    await touched('an in-place write');
    expect(touches).toEqual(['news/a.md', 'news/a.md', 'news/a.md', 'news/a.md']);
  });

  test('a folder created (or renamed into place) after the start is followed too, rename-saves included', async () => {
    const { dir, touches, touched } = setup();
    mkdirSync(join(dir, 'guides'));
    writeFileSync(join(dir, 'guides', 'g.md'), 'guide\n');
    await touched('a new folder with a file');
    saveByRename(join(dir, 'guides', 'g.md'), 'guide, edited\n');
    await touched('a rename-save in the new folder');
    saveByRename(join(dir, 'guides', 'g.md'), 'guide, edited again\n');
    await touched('a second rename-save in the new folder');
    const staged = tempDir('almanac-dev-staged-');
    writeFileSync(join(staged, 'b.md'), 'b\n');
    renameSync(staged, join(dir, 'moved-in'));
    await touched('a folder renamed into the tree');
    saveByRename(join(dir, 'moved-in', 'b.md'), 'b, edited\n');
    await touched('a rename-save in the moved-in folder');
    expect(touches.at(-1)).toBe('moved-in/b.md');
  });
});
