/**
 * Header-style fields as RFC 3464 (message/delivery-status), RFC 5965 (message/feedback-report) and
 * RFC 5322 headers write them: `Name: value`, continuation lines start with white space, groups are
 * separated by blank lines. Names are returned lowercase; a repeated name keeps its first value.
 */

/** One group of fields. */
export type Fields = Map<string, string>;

/** Splits text into blank-line separated groups of fields (the per-message group, then one per recipient). */
export function fieldGroups(text: string): Fields[] {
  const groups: Fields[] = [];
  let current: Fields | undefined;
  let last: string | undefined;
  for (const line of text.replace(/\r\n?/g, '\n').split('\n')) {
    if (line.trim() === '') {
      current = undefined;
      last = undefined;
      continue;
    }
    if (/^[ \t]/.test(line) && current && last) {
      current.set(last, `${current.get(last)} ${line.trim()}`);
      continue;
    }
    const m = /^([!-9;-~]+)\s*:\s?(.*)$/.exec(line);
    if (!m) continue;
    if (!current) groups.push((current = new Map()));
    last = m[1]!.toLowerCase();
    if (!current.has(last)) current.set(last, m[2]!.trim());
    else last = undefined; // a repeated field: keep the first, skip its continuation lines
  }
  return groups;
}

/** The header section of a raw message (up to the first blank line) as fields. */
export function headerFields(raw: string): Fields {
  const end = raw.search(/\r?\n\r?\n/);
  return fieldGroups(end < 0 ? raw : raw.slice(0, end))[0] ?? new Map();
}

/** `rfc822; someone@example.org` or `<someone@example.org>` → `someone@example.org` (lowercase), or undefined. */
export function addressOf(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const typed = value.includes(';') ? value.slice(value.indexOf(';') + 1) : value;
  const m = /<?\s*([^<>\s;,"]+@[^<>\s;,"]+?)\s*>?\s*$/.exec(typed.trim()) ?? /([^<>\s;,"]+@[^<>\s;,"]+)/.exec(typed);
  return m?.[1]?.toLowerCase();
}

/** `smtp; 550 5.1.1 …` → `550 5.1.1 …` (the diagnostic without its type), folded to one line. */
export function diagnosticOf(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const text = /^[a-z-]+\s*;/i.test(value) ? value.slice(value.indexOf(';') + 1) : value;
  return text.replace(/\s+/g, ' ').trim() || undefined;
}

/** A Message-ID with its angle brackets, or undefined. */
export function messageIdOf(value: string | undefined): string | undefined {
  const m = value && /<([^<>\s]+@[^<>\s]+)>/.exec(value);
  if (m) return `<${m[1]}>`;
  const bare = value?.trim();
  return bare && /^[^<>\s]+@[^<>\s]+$/.test(bare) ? `<${bare}>` : undefined;
}
