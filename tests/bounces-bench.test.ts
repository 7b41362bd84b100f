import { Writable } from 'node:stream';
import { describe, expect, test } from 'vitest';
import { main, parseBounceBenchArgs } from '../scripts/bench-bounces.ts';

describe('npm run bench:bounces (smoke: no timing thresholds)', () => {
  test('every bounce of the storm is applied in one ingest run', async () => {
    let text = '';
    const out = new Writable({ write: (c: Buffer, _e, cb) => ((text += c.toString()), cb()) });
    const result = await main(['--messages', '60'], out);
    expect(result).toMatchObject({ messages: 60, bounced: 60, exit_code: 0 });
    expect(result.messages_per_s).toBeGreaterThan(0);
    expect(JSON.parse(text.trim().split('\n').at(-1)!)).toMatchObject({ messages: 60, bounced: 60 });
  }, 120_000);

  test('arguments', () => {
    expect(parseBounceBenchArgs([])).toEqual({ messages: 10_000 });
    expect(() => parseBounceBenchArgs(['--messages', 'lots'])).toThrow('--messages: expected an integer >= 1, found "lots"');
  });
});
