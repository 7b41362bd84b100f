import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, test } from 'vitest';
import { main, SAMPLE_SUBSCRIBERS } from '../scripts/demo.ts';
import { tempDir } from './helpers.ts';

async function runDemo(root: string, now: Date) {
  const out = new PassThrough();
  let text = '';
  out.on('data', (c: Buffer) => {
    text += String(c);
  });
  const code = await main({ root, now, out });
  return { code, text };
}

describe('npm run demo', () => {
  test('sends the current Midweek to the sample subscribers as .eml files, and nothing twice', async () => {
    const root = tempDir('almanac-demo-');
    const first = await runDemo(root, new Date('2026-11-25T09:00:00Z'));
    expect(first.code).toBe(0);
    expect(first.text).toMatch(/Sending the current Midweek edition: 2026-11-25-midweek/);
    const dir = join(root, 'outbox', '2026-11-25-midweek');
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
});
