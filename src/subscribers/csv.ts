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

/**
 * Parses RFC 4180 CSV: comma separated, fields optionally quoted with `"` (`""` inside quotes is a quote, quoted fields
 * may span lines), LF or CRLF line endings, a leading UTF-8 BOM ignored. Blank lines are skipped.
 */
export function parseCsv(text: string): { records: CsvRecord[]; problems: CsvProblem[] } {
  const input = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const records: CsvRecord[] = [];
  const problems: CsvProblem[] = [];
  let line = 1;
  let i = 0;
  while (i < input.length) {
    const start = line;
    const fields: string[] = [];
    let field = '';
    let quoted = false;
    let wasQuoted = false;
    for (; i < input.length; i++) {
      const c = input[i]!;
      if (quoted) {
        if (c === '"' && input[i + 1] === '"') {
          field += '"';
          i++;
        } else if (c === '"') {
          quoted = false;
        } else {
          if (c === '\n') line++;
          field += c;
        }
      } else if (c === '"' && field.trim() === '' && !wasQuoted) {
        quoted = true;
        wasQuoted = true;
        field = '';
      } else if (c === ',') {
        fields.push(wasQuoted ? field : field.trim());
        field = '';
        wasQuoted = false;
      } else if (c === '\n' || c === '\r') {
        if (c === '\r' && input[i + 1] === '\n') i++;
        i++;
        line++;
        break;
      } else {
        field += c;
      }
    }
    if (quoted) {
      problems.push({ line: start, reason: 'unterminated quoted field' });
      break;
    }
    fields.push(wasQuoted ? field : field.trim());
    if (fields.length === 1 && fields[0] === '' && !wasQuoted) continue;
    records.push({ line: start, fields });
  }
  return { records, problems };
}

/** Quotes a field when it holds a comma, quote, line break or leading/trailing space. */
export function csvField(value: string | number | null | undefined): string {
  const s = value === null || value === undefined ? '' : String(value);
  return /[",\r\n]|^\s|\s$/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** One CSV line (CRLF-terminated, as RFC 4180 says). */
export function csvLine(values: (string | number | null | undefined)[]): string {
  return `${values.map(csvField).join(',')}\r\n`;
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
