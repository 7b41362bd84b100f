import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The bounce fixtures (tests/fixtures/bounces/*.eml). */
export const BOUNCE_FIXTURES = join(import.meta.dirname, 'fixtures', 'bounces');

/** What fills a fixture's placeholders. */
export interface FixtureValues {
  /** Envelope sender of the copy: `bounces+<tag>@…` or untagged. */
  to: string;
  rcpt: string;
  messageId: string;
}

/** A fixture with its placeholders filled, CRLF line endings as on the wire. */
export function bounceFixture(name: string, values: FixtureValues): string {
  return readFileSync(join(BOUNCE_FIXTURES, `${name}.eml`), 'utf8')
    .replaceAll('{{TO}}', values.to)
    .replaceAll('{{RCPT}}', values.rcpt)
    .replaceAll('{{MESSAGE_ID}}', values.messageId)
    .replace(/\r?\n/g, '\r\n');
}
