import type { Config } from '../config.ts';
import type { Store } from '../store/handle.ts';
import { loadSecret } from '../store/secret.ts';
import { BounceApplier, type ApplyResult, type MailResult } from './apply.ts';
import { analyse, type Analysis, type Verdict } from './classify.ts';
import { NotAMessageError, readMessage } from './message.ts';
import { MAX_BOUNCE_BYTES, MAX_TAGS_PER_MESSAGE } from './limits.ts';
import { tagsAddressedTo } from './verp.ts';

/** One raw message from any way in (a file, standard input, SMTP, IMAP). */
export interface RawInput {
  /** What to call it in the output: a file name, `stdin`, `smtp #3`, `imap uid 17`. */
  name: string;
  raw: Buffer | string;
  /** Envelope recipients when known (SMTP RCPT TO): the VERP tag is there even when no header repeats it. */
  envelopeTo?: string[];
  /** Set instead of `raw` when the message is over MAX_BOUNCE_BYTES and was not read: its size, as known. */
  tooLarge?: number;
}

/** What happened to one input. */
export interface ProcessResult {
  name: string;
  /**
   * 'not-a-message': the input could not be read as mail; 'too-large': it was over MAX_BOUNCE_BYTES
   * and not read; 'unverified': a bounce or complaint that does not prove it answers our mail (its
   * line names no address). Nothing changed for any of them.
   */
  outcome: MailResult['outcome'] | 'not-a-message' | 'too-large';
  line: string;
  verdict?: Verdict;
}

/** The line of a message skipped for its size. */
function tooLargeLine(size: number): string {
  return `too large (${size} bytes; a bounce is at most ${MAX_BOUNCE_BYTES} bytes): skipped, nothing changed`;
}

/** Messages parsed before one write transaction (a bounce storm commits in batches). @default 500 */
export const BATCH_SIZE = 500;

/** Reads, classifies and applies bounce and complaint messages, and provider events. */
export class BounceProcessor {
  readonly applier: BounceApplier;

  constructor(
    store: Store,
    private readonly config: Config,
    /** The signing secret of VERP tags (loadSecret; BounceProcessor.open reads it). */
    secret: string,
    clock: () => Date = () => new Date(),
  ) {
    this.applier = new BounceApplier(store, config, secret, clock);
  }

  /** A processor on `store`, with the signing secret read (or created once) from it. */
  static async open(store: Store, config: Config, clock: () => Date = () => new Date()): Promise<BounceProcessor> {
    return new BounceProcessor(store, config, await loadSecret(store, config), clock);
  }

  /** Reads and classifies one message; throws NotAMessageError when it is not mail. */
  async analyse(input: RawInput): Promise<Analysis> {
    const message = await readMessage(input.raw);
    const analysis = analyse(message, this.config.bounce.address);
    const address = this.config.bounce.address;
    if (address && input.envelopeTo?.length) {
      // The envelope's tags first (the listener caps its recipients), then the text's: the first few only.
      const envelopeTags = tagsAddressedTo(address, input.envelopeTo.join('\n'));
      analysis.keys.tags = [...new Set([...envelopeTags, ...analysis.keys.tags])].slice(0, MAX_TAGS_PER_MESSAGE);
    }
    return analysis;
  }

  /** Processes inputs in order, writing each batch in one transaction; calls `onResult` once per input, in order. */
  async processAll(inputs: AsyncIterable<RawInput> | Iterable<RawInput>, onResult: (r: ProcessResult) => void, batchSize = BATCH_SIZE): Promise<void> {
    let batch: { name: string; analysis?: Analysis; error?: string; tooLarge?: number }[] = [];
    const flush = async () => {
      const analysed = batch.filter((b) => b.analysis).map((b) => b.analysis!);
      const applied = analysed.length > 0 ? await this.applier.applyMail(analysed) : [];
      let i = 0;
      for (const b of batch) {
        if (b.tooLarge !== undefined) onResult({ name: b.name, outcome: 'too-large', line: tooLargeLine(b.tooLarge) });
        else if (b.error !== undefined) onResult({ name: b.name, outcome: 'not-a-message', line: `not a message: ${b.error}; nothing changed` });
        else {
          const r = applied[i++]!;
          onResult({ name: b.name, outcome: r.outcome, line: r.line, verdict: r.verdict });
        }
      }
      batch = [];
    };
    for await (const input of inputs) {
      if (input.tooLarge !== undefined) {
        batch.push({ name: input.name, tooLarge: input.tooLarge });
        continue;
      }
      try {
        batch.push({ name: input.name, analysis: await this.analyse(input) });
      } catch (error) {
        if (!(error instanceof NotAMessageError)) throw error;
        batch.push({ name: input.name, error: error.message });
      }
      if (batch.length >= batchSize) await flush();
    }
    await flush();
  }

  /** Processes one message at once (SMTP, IMAP, tests). */
  async processOne(input: RawInput): Promise<ProcessResult> {
    let result: ProcessResult | undefined;
    await this.processAll([input], (r) => (result = r));
    return result!;
  }

  /** Applies events that an authenticated provider already classified (webhooks), in one transaction. */
  async applyEvents(analyses: Analysis[]): Promise<ApplyResult[]> {
    return this.applier.applyProviderEvents(analyses);
  }
}
