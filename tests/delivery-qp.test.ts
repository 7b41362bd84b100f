import { describe, expect, test } from 'vitest';
import { encodeQuotedPrintable } from '../src/delivery/mime.ts';

describe('quoted-printable bodies are safe on the SMTP wire', () => {
  test('a dot that lands at the start of a line after a soft break is encoded (no line starts with a dot)', () => {
    const text = `${'x'.repeat(75)}. After the dot`;
    const lines = encodeQuotedPrintable(text).split('\r\n');
    expect(lines.some((line) => line.startsWith('.'))).toBe(false);
    expect(lines.every((line) => line.length <= 76)).toBe(true);
  });
});
