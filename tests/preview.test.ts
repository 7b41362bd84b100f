import { execFile } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { simpleParser } from 'mailparser';
import { describe, expect, test } from 'vitest';
import { tempDir, writeContent } from './helpers.ts';
import { fullGuides, fullNews } from './render-fixtures.ts';

const run = promisify(execFile);

/** Runs `almanac preview …` as a real child process, with none of the developer's ALMANAC_* variables. */
async function preview(args: string[], via: 'npm' | 'node' = 'node'): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ALMANAC_BASE_URL: 'https://almanac.example', ALMANAC_POSTAL_ADDRESS: '1 Test Street, Testville' };
  try {
    // `node scripts/almanac.mjs` is what `npm run -s almanac --` runs, minus npm's own start-up.
    const [command, prefix] = via === 'npm' ? ['npm', ['run', '-s', 'almanac', '--']] : [process.execPath, ['scripts/almanac.mjs']];
    const { stdout, stderr } = await run(command, [...prefix, 'preview', ...args], { env, cwd: process.cwd() });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('almanac preview', () => {
  test('writes the html, text and complete .eml a sample subscriber would receive', async () => {
    const content = writeContent(fullNews(), fullGuides());
    const out = join(tempDir(), 'preview');
    const result = await preview(['midweek', '--date', '2026-11-25', '--out', out, '--content', content], 'npm');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['2026-11-25-midweek.eml', '2026-11-25-midweek.html', '2026-11-25-midweek.txt']);
    for (const ext of ['html', 'txt', 'eml']) expect(result.stdout).toContain(join(out, `2026-11-25-midweek.${ext}`));
    expect(result.stdout).toContain('pre-send checks: ok');
    expect(result.stdout).toMatch(/\d+ news, 1 guide, HTML/); // a Midweek features one guide: not "1 guides"

    const html = readFileSync(join(out, '2026-11-25-midweek.html'), 'utf8');
    const text = readFileSync(join(out, '2026-11-25-midweek.txt'), 'utf8');
    expect(html).not.toContain('%%');
    expect(text).toMatch(/Unsubscribe \(one click\): https:\/\/almanac\.example\/unsubscribe\/[\w-]{20,}/);

    const parsed = await simpleParser(readFileSync(join(out, '2026-11-25-midweek.eml')));
    expect(parsed.text).toBe(text);
    expect(parsed.html).toBe(html);
    expect(parsed.subject).toMatch(/^Almanac Midweek: /);
    expect(parsed.headers.get('to')).toMatchObject({ value: [{ address: 'reader@example.com' }] });
    expect(parsed.date?.toISOString()).toBe('2026-11-25T07:00:00.000Z');
    expect(parsed.messageId).toMatch(/@almanac\.example>$/);
    expect(parsed.headers.get('list')).toMatchObject({ id: { id: 'midweek.almanac.example' }, 'unsubscribe-post': { name: 'List-Unsubscribe=One-Click' } });
  });

  test('an empty edition is reported and not written unless forced', async () => {
    const content = writeContent([{ published: '2026-10-01T00:00:00Z' }], fullGuides());
    const out = join(tempDir(), 'preview');
    const refused = await preview(['sunday', '--date', '2026-11-29', '--out', out, '--content', content]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('2026-11-29-sunday is empty');
    expect(existsSync(out)).toBe(false);

    const forced = await preview(['sunday', '--date', '2026-11-29', '--out', out, '--content', content, '--force']);
    expect(forced.code).toBe(0);
    expect(readdirSync(out)).toHaveLength(3);
  });

  test('bad usage exits 2 and names the problem', async () => {
    const result = await preview(['weekly']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("unknown edition kind 'weekly'");
  });

  test('the files are readable by their owner only (0600), also when they replace older ones', async () => {
    const content = writeContent(fullNews(), fullGuides());
    const out = join(tempDir(), 'preview');
    const first = await preview(['midweek', '--date', '2026-11-25', '--out', out, '--content', content]);
    expect(first.code).toBe(0);
    expect(statSync(out).mode & 0o777).toBe(0o700);
    const old = join(out, '2026-11-25-midweek.html');
    chmodSync(old, 0o644);
    writeFileSync(old, 'an older preview');
    const again = await preview(['midweek', '--date', '2026-11-25', '--out', out, '--content', content]);
    expect(again.code).toBe(0);
    const files = readdirSync(out);
    expect(files).toHaveLength(3);
    for (const file of files) expect(statSync(join(out, file)).mode & 0o777, file).toBe(0o600);
    expect(readFileSync(old, 'utf8')).not.toBe('an older preview');
  });
});
