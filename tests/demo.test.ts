import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { main, SAMPLE_SUBSCRIBERS } from '../scripts/demo.ts';
import { openStore } from '../src/store/open.ts';
import { SubscriberStore } from '../src/store/subscribers.ts';
import { tempDir } from './helpers.ts';

/** Every file under `dir` (but `skip`) with its bytes. */
function snapshot(dir: string, skip: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    const path = join(entry.parentPath, entry.name);
    if (entry.isFile() && !path.startsWith(skip)) files.set(relative(dir, path), readFileSync(path));
  }
  return files;
}

async function runDemo(root: string, now: Date) {
  const out = new PassThrough();
  let text = '';
  out.on('data', (c: Buffer) => {
    text += String(c);
  });
  const code = await main({ root, now, out });
  return { code, text };
}

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('npm run demo', () => {
  test('sends the current Midweek to the sample subscribers as .eml files in its own outbox, and nothing twice', async () => {
    const root = tempDir('almanac-demo-');
    const first = await runDemo(root, new Date('2026-11-25T09:00:00Z'));
    expect(first.code).toBe(0);
    expect(first.text).toMatch(/Sending the current Midweek edition: 2026-11-25-midweek/);
    expect(first.text).toContain(`its own database ${relative(process.cwd(), join(root, 'data', 'demo', 'almanac.db'))}`);
    const dir = join(root, 'data', 'demo', 'outbox', '2026-11-25-midweek');
    expect(readdirSync(dir).filter((f) => f.endsWith('.eml'))).toHaveLength(SAMPLE_SUBSCRIBERS.length);

    const second = await runDemo(root, new Date('2026-11-25T09:05:00Z'));
    expect(second.code).toBe(0);
    expect(second.text).toMatch(/everyone already has 2026-11-25-midweek: 5 sent/);
    expect(readdirSync(dir).filter((f) => f.endsWith('.eml'))).toHaveLength(SAMPLE_SUBSCRIBERS.length);
  });

  test('when the shipped content is older than the current Midweek, it uses the latest Midweek with news', async () => {
    const { code, text } = await runDemo(tempDir('almanac-demo-'), new Date('2027-06-01T00:00:00Z'));
    expect(code).toBe(0);
    expect(text).toMatch(/using the latest one that does: 2026-11-25-midweek/);
  });

  test("leaves the operator's database byte for byte unchanged and sends its subscribers nothing, run after run", async () => {
    const root = tempDir('almanac-demo-');
    const operatorDb = join(root, 'data', 'almanac.db');
    const store = await openStore(operatorDb);
    await new SubscriberStore(store).add({ email: 'real.reader@example.com', name: 'A real reader', editions: ['midweek', 'sunday'] });
    await store.close();
    // Even with the operator's settings in the environment, the demo uses only its own.
    vi.stubEnv('ALMANAC_DB', operatorDb);
    vi.stubEnv('ALMANAC_OUTBOX', join(root, 'outbox'));
    const before = snapshot(join(root, 'data'), join(root, 'data', 'demo'));
    expect([...before.keys()]).toContain('almanac.db');

    for (const at of ['2026-11-25T09:00:00Z', '2026-11-25T09:05:00Z']) {
      const { code, text } = await runDemo(root, new Date(at));
      expect(code, text).toBe(0);
      expect(text).toContain('your ALMANAC_DB and outbox are not touched');
    }

    expect(snapshot(join(root, 'data'), join(root, 'data', 'demo'))).toEqual(before);
    expect(existsSync(join(root, 'outbox'))).toBe(false);
    const demoOutbox = join(root, 'data', 'demo', 'outbox', '2026-11-25-midweek');
    const copies = readdirSync(demoOutbox).filter((f) => f.endsWith('.eml'));
    expect(copies).toHaveLength(SAMPLE_SUBSCRIBERS.length);
    expect(copies.join(' ')).not.toContain('real.reader');
  });
});
