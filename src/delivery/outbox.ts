import { mkdirSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TransportError } from './errors.ts';
import { rawBytes, type OutgoingMessage, type SendResult, type Transport } from './transport.ts';

/** A recipient address made safe as part of a file name. */
export function sanitiseForFile(address: string): string {
  return address.toLowerCase().replace(/[^a-z0-9@._+-]/g, '_').slice(0, 120);
}

/**
 * Writes each message as `${dir}/<editionId>/<seq>-<recipient>.eml` instead of sending it, so a
 * fresh clone can "send" without a server. Each file is written to a temporary name and renamed,
 * so a crash never leaves a half-written .eml. Sequence numbers continue after the highest
 * already in the edition's folder (a re-run never overwrites an earlier copy).
 */
export function createOutboxTransport(dir: string): Transport {
  const nextSeq = new Map<string, number>();
  const seqFor = (folder: string, editionId: string): number => {
    let seq = nextSeq.get(editionId);
    if (seq === undefined) {
      mkdirSync(folder, { recursive: true });
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
        const file = join(folder, `${String(seq).padStart(6, '0')}-${sanitiseForFile(message.to)}.eml`);
        const tmp = `${file}.tmp-${process.pid}`;
        writeFileSync(tmp, rawBytes(message.raw));
        await message.beforeEndOfData?.(); // the rename is the outbox's end-of-data
        renameSync(tmp, file);
        return { status: 'sent', response: `250 written to ${file}` };
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
