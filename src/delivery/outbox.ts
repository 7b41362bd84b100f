import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { TransportError } from './errors.ts';
import { PRIVATE_DIR_MODE, writePrivateFile } from './private-file.ts';
import { readableParts } from './readable-copy.ts';
import { rawBytes, type OutgoingMessage, type SendResult, type Transport } from './transport.ts';

/** A recipient address made safe as part of a file name. */
export function sanitiseForFile(address: string): string {
  return address.toLowerCase().replace(/[^a-z0-9@._+-]/g, '_').slice(0, 120);
}

/**
 * Writes each message as `${dir}/<editionId>/<seq>-<recipient>.eml` instead of sending it, so a
 * fresh clone can "send" without a server, with its bodies decoded beside it (`.html`, `.txt`):
 * the `.eml` is quoted-printable, so its links are broken across `=` line ends. Each file is
 * written to a temporary name and renamed, the `.eml` last (it marks a complete copy), all 0600
 * in 0700 folders. Sequence numbers continue after the highest already in the edition's folder
 * (a re-run never overwrites an earlier copy).
 */
export function createOutboxTransport(dir: string): Transport {
  const nextSeq = new Map<string, number>();
  const seqFor = (folder: string, editionId: string): number => {
    let seq = nextSeq.get(editionId);
    if (seq === undefined) {
      mkdirSync(folder, { recursive: true, mode: PRIVATE_DIR_MODE });
      seq = 1 + Math.max(0, ...readdirSync(folder).map((f) => Number.parseInt(f, 10)).filter(Number.isFinite));
    }
    nextSeq.set(editionId, seq + 1);
    return seq;
  };
  return {
    kind: 'outbox',
    async send(message: OutgoingMessage): Promise<SendResult> {
      const folder = join(dir, sanitiseForFile(message.editionId));
      try {
        const seq = seqFor(folder, message.editionId);
        const base = join(folder, `${String(seq).padStart(6, '0')}-${sanitiseForFile(message.to)}`);
        const bytes = rawBytes(message.raw);
        const { html, text } = readableParts(bytes);
        if (html !== undefined) writePrivateFile(`${base}.html`, html);
        if (text !== undefined) writePrivateFile(`${base}.txt`, text);
        await message.beforeEndOfData?.(); // the .eml appearing is the outbox's end-of-data
        writePrivateFile(`${base}.eml`, bytes);
        return { status: 'sent', response: `250 written to ${base}.eml` };
      } catch (cause) {
        throw new TransportError(`cannot write ${message.editionId} for ${message.to} to the outbox ${folder}`, {
          inDoubt: false,
          code: (cause as NodeJS.ErrnoException).code,
          cause,
        });
      }
    },
    async close() {},
  };
}
