import type { Kind } from '../config.ts';
import { parseCsv, parseEditions } from './csv.ts';
import { isValidEmail, normaliseEmail } from './email.ts';
import type { Store } from '../store/handle.ts';
import { importMany } from '../store/import.ts';

/** A line of the file that was not imported, and why. */
export interface ImportIssue {
  line: number;
  reason: string;
}

/** What an import did. Re-importing the same file adds nothing and changes nothing. */
export interface ImportReport {
  added: number;
  /** Addresses already held; left exactly as they are (an import never re-subscribes anyone). */
  present: number;
  /** Suppressed addresses (erased, bounced, complained): skipped, not an error. */
  suppressed: ImportIssue[];
  /** Bad rows: the file should be fixed. */
  bad: ImportIssue[];
}

const COLUMNS = ['email', 'name', 'editions'] as const;
type Column = (typeof COLUMNS)[number];

interface ValidRow {
  line: number;
  email: string;
  name: string | null;
  editions: Kind[];
}

/**
 * Imports a CSV with header `email,name,editions` (name and editions optional) as active subscribers, consent source
 * 'import', into the store (SQLite or PostgreSQL). Rows are written in chunks, each one transaction: an import
 * interrupted half-way is finished by running it again.
 */
export async function importCsv(store: Store, text: string, clock?: () => Date): Promise<ImportReport> {
  const report: ImportReport = { added: 0, present: 0, suppressed: [], bad: [] };
  const { records, problems } = parseCsv(text);
  report.bad.push(...problems);
  const [header, ...rows] = records;
  if (!header) {
    report.bad.unshift({ line: 1, reason: `missing header: expected ${COLUMNS.join(',')}` });
    return report;
  }
  const columns = header.fields.map((f) => f.trim().toLowerCase());
  const headerProblem = checkHeader(columns);
  if (headerProblem) {
    report.bad.unshift({ line: header.line, reason: headerProblem });
    return report;
  }
  const index = (c: Column) => columns.indexOf(c);
  const seen = new Map<string, number>();
  const valid: ValidRow[] = [];
  for (const { line, fields } of rows) {
    if (fields.length !== columns.length) {
      report.bad.push({ line, reason: `wrong column count: expected ${columns.length} (${columns.join(',')}), found ${fields.length}` });
      continue;
    }
    const email = normaliseEmail(fields[index('email')]!);
    if (!isValidEmail(email)) {
      report.bad.push({ line, reason: email ? `invalid email ${JSON.stringify(fields[index('email')])}` : 'missing email' });
      continue;
    }
    const editionsCell = index('editions') >= 0 ? fields[index('editions')]! : '';
    const parsed = parseEditions(editionsCell);
    if ('unknown' in parsed) {
      report.bad.push({ line, reason: `unknown edition ${JSON.stringify(parsed.unknown)} (expected midweek, sunday or both)` });
      continue;
    }
    const first = seen.get(email);
    if (first !== undefined) {
      report.bad.push({ line, reason: `duplicate of line ${first} (${email})` });
      continue;
    }
    seen.set(email, line);
    const name = index('name') >= 0 ? fields[index('name')]!.trim() || null : null;
    valid.push({ line, email, name, editions: parsed.editions });
  }
  const results = await importMany(store, valid, clock);
  for (const [i, row] of valid.entries()) {
    const result = results[i];
    if (result === 'added') report.added++;
    else if (result === 'present') report.present++;
    else report.suppressed.push({ line: row.line, reason: `${row.email} is suppressed (erased, bounced or complained): skipped` });
  }
  report.bad.sort((a, b) => a.line - b.line);
  return report;
}

function checkHeader(columns: string[]): string | undefined {
  const unknown = columns.filter((c) => !(COLUMNS as readonly string[]).includes(c));
  if (unknown.length) return `unknown column ${JSON.stringify(unknown[0])} in header: expected ${COLUMNS.join(',')}`;
  if (new Set(columns).size !== columns.length) return `repeated column in header: expected ${COLUMNS.join(',')}`;
  if (!columns.includes('email')) return `header has no email column: expected ${COLUMNS.join(',')}`;
  return undefined;
}
