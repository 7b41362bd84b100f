/**
 * Follows every change under a directory tree, however an editor saves: with one `fs.watch` per
 * directory, not per file.
 *
 * Why not `fs.watch(dir, { recursive: true })`: on Linux, Node 20 implements the recursive option by
 * watching each file, and a file replaced by a rename (vim's and `sed -i`'s write-then-rename save,
 * `git checkout`) is a new inode its watcher never sees, so the second such save is missed, and every
 * save after it. A watch on the directory itself names each entry that is written, created, renamed or
 * removed in it, whichever inode it has, so it follows every kind of save (chokidar does the same).
 */
import { readdirSync, statSync, watch, type FSWatcher } from 'node:fs';
import { join, relative, sep } from 'node:path';

/** A running tree watcher; close it to stop. */
export interface TreeWatcher {
  close(): void;
}

/**
 * Calls `onChange(path relative to root)` for every change of an entry under `root`, in folders
 * that exist now or are created (or renamed into place) later. Folders removed stop being watched.
 */
export function watchTree(root: string, onChange: (file: string) => void): TreeWatcher {
  const watchers = new Map<string, FSWatcher>();

  const unwatch = (dir: string) => {
    for (const [path, watcher] of watchers) {
      if (path === dir || path.startsWith(dir + sep)) {
        watcher.close();
        watchers.delete(path);
      }
    }
  };

  // A name changed in `dir`: a new folder gets watchers, one that is gone loses them.
  const sync = (path: string) => {
    let isDir = false;
    try {
      isDir = statSync(path).isDirectory();
    } catch {
      // gone (removed, or renamed away)
    }
    if (isDir) add(path);
    else unwatch(path);
  };

  function add(dir: string): void {
    if (watchers.has(dir)) return;
    let watcher: FSWatcher;
    try {
      watcher = watch(dir, (event, name) => {
        const path = name ? join(dir, String(name)) : dir;
        if (event === 'rename' && path !== dir) sync(path);
        onChange(relative(root, path));
      });
    } catch {
      return; // removed before we got to it: its parent's event already said so
    }
    watcher.on('error', () => unwatch(dir)); // the folder itself went away
    watchers.set(dir, watcher);
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return unwatch(dir);
    }
    for (const entry of entries) if (entry.isDirectory()) add(join(dir, entry.name));
  }

  add(root);
  return {
    close: () => {
      for (const watcher of watchers.values()) watcher.close();
      watchers.clear();
    },
  };
}
