import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Writes content/editions/<id>.md with the given front matter lines and letter; returns its path. */
export function writeEditionFile(contentDir: string, id: string, front: string, letter = ''): string {
  mkdirSync(join(contentDir, 'editions'), { recursive: true });
  const path = join(contentDir, 'editions', `${id}.md`);
  writeFileSync(path, `---\n${front}\n---\n${letter}\n`);
  return path;
}

/** Quoted-printable (as Almanac writes it) to UTF-8 text with \n line ends. */
function decodeQp(body: string): string {
  const binary = body.replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  return Buffer.from(binary, 'latin1').toString('utf8').replace(/\r\n/g, '\n');
}

function part(raw: string, type: string): string {
  const boundary = /boundary="?([^";\r\n]+)"?/.exec(raw)?.[1];
  if (!boundary) throw new Error('no multipart boundary in the message');
  const found = raw.split(`--${boundary}`).find((p) => p.includes(`Content-Type: ${type}`));
  if (!found) throw new Error(`no ${type} part in the message`);
  return decodeQp(found.slice(found.indexOf('\r\n\r\n') + 4).replace(/\r\n$/, ''));
}

/** The decoded text/plain part of a raw message. */
export function textPart(raw: string): string {
  return part(raw, 'text/plain');
}

/** The decoded text/html part of a raw message. */
export function htmlPart(raw: string): string {
  return part(raw, 'text/html');
}

/** The decoded Subject header of a raw message (RFC 2047 base64 words joined). */
export function subjectOf(raw: string): string {
  const m = /^Subject: (.*(?:\r\n[ \t].*)*)/m.exec(raw);
  if (!m) throw new Error('no Subject header');
  return m[1]!
    .replace(/\r\n[ \t]/g, ' ')
    .replace(/=\?UTF-8\?B\?([^?]*)\?=\s*/gi, (_, b64: string) => Buffer.from(b64, 'base64').toString('utf8'));
}

/** The edition text of a copy without what differs per subscriber (their unsubscribe and preference links). */
export function editionText(raw: string): string {
  return textPart(raw).replace(/\/(unsubscribe|preferences)\/[A-Za-z0-9_.-]+/g, '/$1/TOKEN');
}
