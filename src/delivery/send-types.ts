import type { Config, Kind } from '../config.ts';
import type { Edition } from '../editions/compose.ts';
import type { RecipientLinks, RenderedEdition } from '../render/render-edition.ts';
import type { Store } from '../store/handle.ts';
import type { DeliveryState } from '../store/types.ts';
import type { RecipientSource, SkippedAs } from './recipients.ts';
import type { Transport } from './transport.ts';

/**
 * What the send engine reads from the subscriber list (src/store/subscribers.ts SubscriberStore
 * implements it). Its writes (suppressions, soft bounces) go into the ledger's batched commit.
 */
export interface SenderStore extends RecipientSource {
  countActive(kind: Kind): Promise<number>;
}

/** debug: one per recipient sent; info: run events and retries; warn/error: problems worth a look. */
export type SendLogLevel = 'debug' | 'info' | 'warn' | 'error';

/** One log event; the CLI writes each as one JSON line. */
export interface SendLogEvent {
  level: SendLogLevel;
  event: string;
  editionId: string;
  [field: string]: unknown;
}

/** What the engine is given: the store, transport and clock it uses (the CLI wires the real ones). */
export interface SendDeps {
  /** The database (SQLite or PostgreSQL): ledger, locks, claims, edition rows. */
  store: Store;
  /** The subscriber list. @default new SubscriberStore(store) */
  subscribers?: SenderStore;
  transport: Transport;
  config: Config;
  /** Wall clock for ledger timestamps, the lease and the Date header. @default () => new Date() */
  clock?: () => Date;
  log?: (event: SendLogEvent) => void;
  /** The personal links of one recipient. */
  links: (subscriberId: number, kind: Kind) => RecipientLinks;
}

/** Live counts, reported while sending. */
export interface SendProgress {
  editionId: string;
  total: number;
  /** Recipients dealt with: skipped plus every recipient with a result in this run. */
  done: number;
  sent: number;
  failed: number;
  bounced: number;
  deferred: number;
  inDoubt: number;
  skipped: number;
  elapsedMs: number;
  msgsPerSecond: number;
}

/** One run: the edition (composed and rendered once) and how to run. */
export interface SendOptions {
  edition: Pick<Edition, 'id' | 'kind' | 'number' | 'sendAt' | 'subject' | 'preheader' | 'empty'>;
  rendered: RenderedEdition;
  /** The render the public archive keeps (untracked: no /r/ links, honeypot or pixel). @default rendered */
  archiveRendered?: RenderedEdition;
  /** Render and count, no ledger writes, no sends. */
  dryRun?: boolean;
  /** Also send to recipients whose row is in doubt. */
  resendUnknown?: boolean;
  /** Send an empty edition, or one failing the pre-send checks. */
  force?: boolean;
  onProgress?: (progress: SendProgress) => void;
  /** Abort = stop taking recipients, finish those in flight, record them, return (SIGINT/SIGTERM). */
  signal?: AbortSignal;
  /** Lease and claim owner id. @default hostname:pid:random */
  lockOwner?: string;
  /** How long to wait for an unreachable database before giving up. @default DB_OUTAGE_GIVE_UP_MS (120 s) */
  dbOutageGiveUpMs?: number;
}

/** What a run did; the CLI prints it and the scheduler logs it. */
export interface SendSummary {
  editionId: string;
  /** Active subscribers of the kind when the run started. */
  total: number;
  /** Results of this run. */
  sent: number;
  failed: number;
  bounced: number;
  /** Recipients left deferred for the next run. */
  deferred: number;
  /** Addresses whose copy may or may not have arrived (not resent unless resendUnknown). */
  inDoubt: string[];
  /** Already final before this run (sent, bounced, failed, in doubt) or suppressed. */
  skipped: number;
  /** `skipped` by why: already had it, suppressed, ended earlier without a delivery. */
  skippedAs: SkippedAs;
  durationMs: number;
  msgsPerSecond: number;
  /** Stopped by the signal before the end. */
  interrupted: boolean;
  /** Nobody needed sending: everyone already has it. */
  alreadyComplete: boolean;
  dryRun: boolean;
  /** Dry run: how many recipients would be attempted. */
  wouldSend: number;
  /** Set when the run stopped early for a reason other than the signal. */
  stopped?: { reason: 'smtp-unreachable' | 'smtp-auth' | 'lock-lost'; message: string };
  /** 5.7.x (policy) rejections in this run: our setup, not the subscribers. */
  policyRejections: number;
  /** Every recipient reached a final state: the edition row is 'sent'. */
  complete: boolean;
  /** Ledger rows per state after the run. */
  ledger: Record<DeliveryState, number>;
}
