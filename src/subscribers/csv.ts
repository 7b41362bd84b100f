import { CsvError, parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { KINDS, type Kind } from '../config.ts';

/** One CSV record and the (1-based) line it starts on. */
export interface CsvRecord {
  line: number;
  fields: string[];
}

/** A record that could not be read (an unterminated quote). */
export interface CsvProblem {
  line: number;
  reason: string;
}

const PARSE_OPTIONS = {
  bom: true,
  trim: true, // around unquoted fields only: a quoted field keeps its spaces
  skip_empty_lines: true,
  relax_column_count: true, // the importer reports a wrong column count with the line number
  relax_quotes: true, // a quote inside an unquoted field is text, as in `O"Brien`
  record_delimiter: '\n',
  raw: true,
} as const;

/**
 * Parses RFC 4180 CSV with csv-parse: comma separated, fields optionally quoted with `"` (`""` inside
 * quotes is a quote, quoted fields may span lines), LF, CRLF or CR line endings, a leading UTF-8 BOM
 * ignored, blank lines skipped. Each record carries the line it starts on; a record that cannot be
 * read (an unterminated quote, text after a closing quote) ends the parse with a problem naming its line.
 */
export function parseCsv(text: string): { records: CsvRecord[]; problems: CsvProblem[] } {
  const records: CsvRecord[] = [];
  const problems: CsvProblem[] = [];
  let lastLine = 0; // the line the previous record ended on
  try {
    // One line ending, so that csv-parse's line count is the file's (a CRLF is one line, a lone CR too).
    parse(text.replace(/\r\n?/g, '\n'), {
      ...PARSE_OPTIONS,
      // With `raw`, csv-parse hands on_record `{ record, raw }` (its types say the bare record).
      on_record: (wrapped: unknown, context) => {
        const { record } = wrapped as { record: string[] };
        const raw = context.raw ?? '';
        // context.lines is the line the record ends on; a quoted field may have spanned several.
        const line = context.lines - lineBreaks(withoutLeadingBlankLines(raw).replace(/\n$/, ''));
        lastLine = context.lines;
        if (record.length === 1 && record[0] === '' && !raw.includes('"')) return null;
        records.push({ line, fields: record });
        return null;
      },
    });
  } catch (error) {
    if (!(error instanceof CsvError)) throw error;
    const raw = typeof error.raw === 'string' ? error.raw : '';
    const line = lastLine + 1 + lineBreaks(raw) - lineBreaks(withoutLeadingBlankLines(raw));
    // csv-parse cannot resume after a malformed record (its skip option loses the records after it): say so.
    const reason = error.code === 'CSV_QUOTE_NOT_CLOSED' ? 'unterminated quoted field' : `${error.message}; the lines after it were not read`;
    problems.push({ line, reason });
  }
  return { records, problems };
}

function withoutLeadingBlankLines(raw: string): string {
  return raw.replace(/^(?:[ \t]*\n)+/, '');
}

function lineBreaks(s: string): number {
  let n = 0;
  for (let i = s.indexOf('\n'); i >= 0; i = s.indexOf('\n', i + 1)) n++;
  return n;
}

const STRINGIFY_OPTIONS = {
  record_delimiter: 'windows', // CRLF, as RFC 4180 says
  // A cell starting with = + - @ tab or CR gets a leading apostrophe, so a spreadsheet shows it as text
  // instead of running it as a formula (names come from the public subscribe form).
  escape_formulas: true,
  // Quote what our parser would otherwise change: leading/trailing spaces (trimmed) and any line break.
  quoted_match: /^\s|\s$|[\r\n]/,
} as const;

/** One CSV line (CRLF-terminated), formula-like cells neutralised. */
export function csvLine(values: (string | number | null | undefined)[]): string {
  return stringify([values], STRINGIFY_OPTIONS);
}

/**
 * Reads an editions cell: `midweek`, `sunday`, `midweek;sunday`, `midweek,sunday`, `both`, or empty (= both).
 * Returns the kinds, or the unknown word.
 */
export function parseEditions(value: string): { editions: Kind[] } | { unknown: string } {
  const words = value
    .toLowerCase()
    .split(/[;,\s|]+/)
    .filter(Boolean);
  if (words.length === 0) return { editions: [...KINDS] };
  const editions = new Set<Kind>();
  for (const w of words) {
    if (w === 'both' || w === 'all') KINDS.forEach((k) => editions.add(k));
    else if ((KINDS as readonly string[]).includes(w)) editions.add(w as Kind);
    else return { unknown: w };
  }
  return { editions: KINDS.filter((k) => editions.has(k)) };
}
