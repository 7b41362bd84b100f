/**
 * DKIM relaxed canonicalisation (RFC 6376 3.4.2 and 3.4.4) for the signer in dkim.ts.
 *
 * Headers are canonicalised per copy (a few hundred bytes; the signer remembers the lines that every
 * copy shares). The body is not: Almanac's bodies are built so that relaxed canonicalisation leaves
 * them unchanged (CRLF line ends, no tab, no run of spaces, no space before a line end, one line end
 * after the closing boundary; see encodeQuotedPrintable in mime.ts). `PlainBodyCheck` verifies that
 * invariant on every copy (shared pieces once, per-copy pieces each time) and the signer falls back
 * to `relaxedBody` for a body that breaks it, so a wrong body hash is never the price of the fast
 * path.
 */

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const TAB = 0x09;
const TWO_SPACES = Buffer.from('  ');
const SPACE_CR = Buffer.from(' \r');

/** One header field as it appears in the message: its lowercased name and its raw text (folded lines joined with CRLF). */
export interface HeaderField {
  key: string;
  line: string;
}

/** Splits a header block (latin1 text, CRLF line ends, with or without the blank line) into fields. */
export function parseHeaderFields(block: string): HeaderField[] {
  const fields: HeaderField[] = [];
  for (const line of block.split('\r\n')) {
    if (line === '') continue;
    const first = line.charCodeAt(0);
    if ((first === SP || first === TAB) && fields.length > 0) {
      fields[fields.length - 1]!.line += `\r\n${line}`;
      continue;
    }
    const colon = line.indexOf(':');
    fields.push({ key: (colon < 0 ? line : line.slice(0, colon)).trim().toLowerCase(), line });
  }
  return fields;
}

/** Relaxed canonicalisation of one header field's value: unfolded, whitespace runs as one space, trimmed. */
export function relaxedHeaderValue(line: string): string {
  return line
    .slice(line.indexOf(':') + 1)
    .replace(/\r?\n/g, '')
    .replace(/[ \t]+/g, ' ')
    .replace(/^ | $/g, '');
}

/**
 * Relaxed body canonicalisation of any body, as the receiver sees it: a bare CR or LF becomes CRLF
 * (nodemailer's DATA encoder does that on the wire), whitespace runs become one space, whitespace
 * at line ends goes, empty lines at the end go, and a non-empty body ends with CRLF.
 */
export function relaxedBody(body: Buffer): Buffer {
  const lines = body
    .toString('latin1')
    .split(/\r\n|\r|\n/)
    .map((line) => line.replace(/[ \t]+/g, ' ').replace(/ $/, ''));
  while (lines.length > 0 && lines.at(-1) === '') lines.pop();
  return Buffer.from(lines.length === 0 ? '' : `${lines.join('\r\n')}\r\n`, 'latin1');
}

/** True when relaxed canonicalisation cannot change any line inside `piece` (its ends are checked by the caller). */
export function isPlainPiece(piece: Buffer): boolean {
  if (piece.indexOf(TAB) !== -1 || piece.indexOf(TWO_SPACES) !== -1 || piece.indexOf(SPACE_CR) !== -1) return false;
  // Every LF ends a CRLF (a bare LF would become a line end on the wire that the hash did not see as one).
  for (let i = piece.indexOf(LF, 1); i !== -1; i = piece.indexOf(LF, i + 1)) {
    if (piece[i - 1] !== CR) return false;
  }
  // A CR not followed by LF (other than at the piece's end) would become a CRLF on the wire.
  const last = piece.length - 1;
  for (let i = piece.indexOf(CR); i !== -1 && i < last; i = piece.indexOf(CR, i + 1)) {
    if (piece[i + 1] !== LF) return false;
  }
  return true;
}

/**
 * Checks that a body given as pieces is its own relaxed canonical form. Pieces of at least
 * `cacheFrom` bytes are assumed immutable and shared between copies (the message template's
 * chunks): their verdict is remembered; smaller ones (per-copy slot values) are checked each time.
 */
export class PlainBodyCheck {
  private readonly verdicts = new WeakMap<Buffer, boolean>();

  constructor(private readonly cacheFrom = 1024) {}

  /** True when relaxed body canonicalisation would leave the concatenation of `pieces` unchanged. */
  isPlain(pieces: readonly Buffer[]): boolean {
    let previous = -1; // last byte of the previous non-empty piece; -1 at the start of the body
    let total = 0;
    for (const piece of pieces) {
      if (piece.length === 0) continue;
      if (!this.plain(piece)) return false;
      const first = piece[0]!;
      // Across the join: no space run, no space before a line end, CR and LF only as CRLF.
      if (previous === SP && (first === SP || first === CR)) return false;
      if (previous === CR && first !== LF) return false;
      if (first === LF && previous !== CR) return false;
      previous = piece[piece.length - 1]!;
      total += piece.length;
    }
    if (total === 0) return true; // an empty body canonicalises to nothing
    // Ends with exactly one CRLF: not with an empty line (relaxed removes those), not without a line end.
    return previous === LF && !endsWithEmptyLine(pieces);
  }

  private plain(piece: Buffer): boolean {
    if (piece.length < this.cacheFrom) return isPlainPiece(piece);
    let verdict = this.verdicts.get(piece);
    if (verdict === undefined) {
      verdict = isPlainPiece(piece);
      this.verdicts.set(piece, verdict);
    }
    return verdict;
  }
}

/** True when the body's last four bytes (across pieces) are CRLF CRLF, or the body is a lone CRLF. */
function endsWithEmptyLine(pieces: readonly Buffer[]): boolean {
  const tail: number[] = [];
  for (let p = pieces.length - 1; p >= 0 && tail.length < 4; p--) {
    const piece = pieces[p]!;
    for (let i = piece.length - 1; i >= 0 && tail.length < 4; i--) tail.unshift(piece[i]!);
  }
  if (tail.length === 2) return true; // the body is just CRLF: one empty line
  return tail.length === 4 && tail[0] === CR && tail[1] === LF;
}
