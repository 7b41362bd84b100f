import { Writable } from 'node:stream';
import { describe, expect, test } from 'vitest';
import { main, median, parseBenchArgs } from '../scripts/bench.ts';
import { PG_SKIP_REASON, PG_URL } from './store-db.ts';

/** A stream that keeps what is written to it. */
function capture(): { stream: Writable; text: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      text += chunk.toString();
      callback();
    },
  });
  return { stream, text: () => text };
}

describe('npm run bench (smoke: no timing thresholds)', () => {
  test('sends the full Sunday edition to every subscriber through the sink and ends with the JSON summary', async () => {
    const out = capture();
    const result = await main(['--subscribers', '300', '--baseline', '50'], out.stream);

    // Every message arrived: the real send's and the baseline's.
    expect(result.sender.sent).toBe(300);
    expect(result.sender.complete).toBe(true);
    expect(result.sink.messages).toBe(350);
    expect(result.sink.recipients).toBe(350);

    const lines = out.text().trim().split('\n');
    const json = JSON.parse(lines.at(-1)!) as Record<string, unknown>;
    expect(Object.keys(json).slice(0, 6)).toEqual(['subscribers', 'msgs_per_s', 'baseline_msgs_per_s', 'speedup', 'peak_rss_mb', 'render_ms']);
    expect(json.subscribers).toBe(300);
    expect(json.sink_messages).toBe(350);
    for (const key of ['msgs_per_s', 'baseline_msgs_per_s', 'speedup', 'peak_rss_mb', 'render_ms']) {
      expect(typeof json[key], key).toBe('number');
      expect(json[key] as number, key).toBeGreaterThan(0);
    }
    expect(out.text()).toContain('throughput, end to end');
  }, 180_000);

  test('--dkim --ed25519 --pairs 2: the same send signed, alternating with unsigned, reported side by side (the sink got all four)', async () => {
    const out = capture();
    const result = await main(['--subscribers', '200', '--baseline', '20', '--dkim', '--ed25519', '--pairs', '2'], out.stream);
    expect(result.sender.sent).toBe(200);
    expect(result.signed?.sender.sent).toBe(200);
    expect(result.signed?.sender.complete).toBe(true);
    expect(result.sink.messages).toBe(4 * 200 + 20);
    const pairs = result.signed!.pairs;
    expect(pairs).toHaveLength(2);
    expect(result.signed!.ratio).toBeCloseTo((pairs[0]!.ratio + pairs[1]!.ratio) / 2, 10);
    const json = JSON.parse(out.text().trim().split('\n').at(-1)!) as Record<string, unknown>;
    expect(json.dkim).toBe('rsa-sha256 2048 + ed25519-sha256');
    for (const key of ['dkim_msgs_per_s', 'dkim_ratio', 'dkim_peak_rss_mb', 'dkim_sender_cpu_us_per_msg']) expect(json[key] as number, key).toBeGreaterThan(0);
    expect(json.dkim_pair_ratios).toHaveLength(2);
    expect(out.text()).toContain('DKIM-signed send (rsa-sha256 2048 + ed25519-sha256), end to end');
    expect(out.text()).toContain('signed ÷ unsigned, median of 2 alternating pairs');
    expect(out.text()).not.toContain('PRIVATE KEY');
  }, 180_000);

  test('--tracking: the same send with ALMANAC_TRACKING=clicks, reported beside the untracked one (the sink got both)', async () => {
    const out = capture();
    const result = await main(['--subscribers', '150', '--baseline', '10', '--tracking'], out.stream);
    expect(result.tracked?.sender.sent).toBe(150);
    expect(result.tracked?.sender.complete).toBe(true);
    expect(result.sink.messages).toBe(310);
    const json = JSON.parse(out.text().trim().split('\n').at(-1)!) as Record<string, unknown>;
    for (const key of ['tracking_msgs_per_s', 'tracking_ratio', 'tracking_sender_cpu_us_per_msg']) expect(json[key] as number, key).toBeGreaterThan(0);
    expect(out.text()).toContain('tracked send (ALMANAC_TRACKING=clicks), end to end');
  }, 180_000);

  test.skipIf(!PG_URL)(`--db postgres://… --senders 2: the same send on PostgreSQL with one sender and with two sharing it${PG_URL ? '' : ` (${PG_SKIP_REASON})`}`, async () => {
    const out = capture();
    const result = await main(['--subscribers', '300', '--baseline', '20', '--db', PG_URL!, '--senders', '2'], out.stream);
    expect(result.postgres?.one.senders.map((s) => s.sent)).toEqual([300]);
    const many = result.postgres!.many!;
    expect(many.senders).toHaveLength(2);
    expect(many.senders.reduce((a, s) => a + s.sent, 0)).toBe(300);
    expect(many.senders.every((s) => s.complete)).toBe(true);
    expect(result.sink.messages).toBe(300 * 3 + 20);
    const json = JSON.parse(out.text().trim().split('\n').at(-1)!) as Record<string, unknown>;
    for (const key of ['pg_msgs_per_s', 'pg_ratio', 'pg_peak_rss_mb', 'pg_many_msgs_per_s', 'pg_many_ratio_to_one', 'pg_many_peak_rss_mb']) expect(json[key] as number, key).toBeGreaterThan(0);
    expect(json.pg_senders).toBe(2);
    expect(out.text()).toContain('PostgreSQL, 2 senders together, end to end');
  }, 240_000);

  test('median: the middle value, or the mean of the middle two', () => {
    expect(median([0.7, 0.4, 0.5])).toBe(0.5);
    expect(median([0.4, 0.6])).toBe(0.5);
    expect(median([0.3])).toBe(0.3);
  });

  test('arguments: defaults, and errors that say what was expected', () => {
    expect(parseBenchArgs([])).toMatchObject({ subscribers: 20_000, baseline: 1_000, connections: 5, dkim: false, ed25519: false });
    expect(parseBenchArgs(['--dkim'])).toMatchObject({ dkim: true, ed25519: false });
    expect(parseBenchArgs(['--ed25519'])).toMatchObject({ dkim: true, ed25519: true });
    expect(parseBenchArgs(['--dkim'])).toMatchObject({ pairs: 3 });
    expect(parseBenchArgs(['--dkim', '--pairs', '1'])).toMatchObject({ pairs: 1 });
    expect(() => parseBenchArgs(['--pairs', '2'])).toThrow('--pairs: needs --dkim');
    expect(() => parseBenchArgs(['--dkim', '--pairs', '0'])).toThrow('--pairs: expected an integer >= 1, found "0"');
    expect(parseBenchArgs(['--subscribers', '100000', '--connections', '10'])).toMatchObject({ subscribers: 100_000, connections: 10 });
    expect(() => parseBenchArgs(['--subscribers', 'many'])).toThrow('--subscribers: expected an integer >= 1, found "many"');
    expect(parseBenchArgs(['--db', 'postgres://u@127.0.0.1/x', '--senders', '3'])).toMatchObject({ db: 'postgres://u@127.0.0.1/x', senders: 3 });
    expect(() => parseBenchArgs(['--db', 'bench.db'])).toThrow('--db: expected a postgres:// or postgresql:// URL, found "bench.db"');
    expect(() => parseBenchArgs(['--senders', '2'])).toThrow(/--senders: needs --db/);
  });
});
