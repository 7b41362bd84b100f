import { describe, expect, test } from 'vitest';
import { editionById, editionOn, latestEdition, nextEdition } from '../src/editions/calendar.ts';
import { zonedInstant } from '../src/editions/time.ts';
import { testConfig } from './helpers.ts';

const utc = testConfig();
const ny = testConfig({ ALMANAC_TIMEZONE: 'America/New_York' });

describe('send instants', () => {
  test.each([
    // kind, date, zone config, expected send instant (UTC)
    ['sunday', '2026-11-01', ny, '2026-11-01T13:00:00.000Z'], // clocks go back at 02:00 that day: EST
    ['sunday', '2026-10-25', ny, '2026-10-25T12:00:00.000Z'], // EDT
    ['sunday', '2026-03-08', ny, '2026-03-08T12:00:00.000Z'], // clocks go forward at 02:00: EDT by 08:00
    ['sunday', '2026-03-01', ny, '2026-03-01T13:00:00.000Z'], // EST
    ['midweek', '2026-11-04', ny, '2026-11-04T12:00:00.000Z'],
    ['midweek', '2026-10-28', ny, '2026-10-28T11:00:00.000Z'],
    ['midweek', '2026-11-25', utc, '2026-11-25T07:00:00.000Z'],
    ['sunday', '2026-11-29', utc, '2026-11-29T08:00:00.000Z'],
  ] as const)('%s %s is at %s', (kind, date, config, expected) => {
    expect(editionOn(kind, date, config).sendAt.toISOString()).toBe(expected);
  });

  test('a time inside the spring-forward gap moves to just after it', () => {
    expect(zonedInstant('2026-03-08', 2, 30, 'America/New_York').toISOString()).toBe('2026-03-08T07:30:00.000Z');
  });

  test('the repeated autumn hour uses its first occurrence', () => {
    expect(zonedInstant('2026-11-01', 1, 30, 'America/New_York').toISOString()).toBe('2026-11-01T05:30:00.000Z');
  });

  test('a zone without daylight saving keeps its offset all year', () => {
    const tokyo = testConfig({ ALMANAC_TIMEZONE: 'Asia/Tokyo' });
    expect(editionOn('sunday', '2026-03-08', tokyo).sendAt.toISOString()).toBe('2026-03-07T23:00:00.000Z');
    expect(editionOn('sunday', '2026-11-01', tokyo).sendAt.toISOString()).toBe('2026-10-31T23:00:00.000Z');
  });
});

describe('windows', () => {
  test('Midweek covers the week so far: after the previous Sunday edition up to its own instant', () => {
    const slot = editionOn('midweek', '2026-11-25', utc);
    expect(slot.window.from.toISOString()).toBe('2026-11-22T08:00:00.000Z');
    expect(slot.window.to.toISOString()).toBe('2026-11-25T07:00:00.000Z');
  });

  test('Sunday covers the week since the previous Sunday edition', () => {
    const slot = editionOn('sunday', '2026-11-29', utc);
    expect(slot.window.from.toISOString()).toBe('2026-11-22T08:00:00.000Z');
    expect(slot.window.to.toISOString()).toBe('2026-11-29T08:00:00.000Z');
  });

  test('a window across the autumn change in New York is 7 days and 1 hour long', () => {
    const slot = editionOn('sunday', '2026-11-01', ny);
    expect(slot.window.from.toISOString()).toBe('2026-10-25T12:00:00.000Z');
    expect(slot.window.to.toISOString()).toBe('2026-11-01T13:00:00.000Z');
  });
});

describe('edition ids, numbers and snapping', () => {
  test('a date that is not the kind\'s weekday snaps to the next edition of that kind', () => {
    const slot = editionOn('midweek', '2026-11-26', utc);
    expect(slot.id).toBe('2026-12-02-midweek');
  });

  test('numbers count editions of the kind from the first edition date', () => {
    const config = testConfig({ ALMANAC_FIRST_EDITION: '2026-11-01' });
    expect(editionOn('sunday', '2026-11-01', config).number).toBe(1);
    expect(editionOn('sunday', '2026-11-29', config).number).toBe(5);
    expect(editionOn('midweek', '2026-11-04', config).number).toBe(1);
    expect(editionOn('midweek', '2026-11-25', config).number).toBe(4);
  });

  test('next and latest edition around a send instant', () => {
    const at = new Date('2026-11-25T07:00:00Z');
    expect(nextEdition('midweek', at, utc).id).toBe('2026-12-02-midweek');
    expect(latestEdition('midweek', at, utc).id).toBe('2026-11-25-midweek');
    const before = new Date('2026-11-25T06:59:59Z');
    expect(nextEdition('midweek', before, utc).id).toBe('2026-11-25-midweek');
    expect(latestEdition('midweek', before, utc).id).toBe('2026-11-18-midweek');
  });

  test('ids parse back, and an id on the wrong weekday does not', () => {
    expect(editionById('2026-11-25-midweek', utc)?.sendAt.toISOString()).toBe('2026-11-25T07:00:00.000Z');
    expect(editionById('2026-11-26-midweek', utc)).toBeUndefined();
    expect(editionById('nonsense', utc)).toBeUndefined();
  });
});
