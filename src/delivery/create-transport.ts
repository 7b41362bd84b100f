import type { Config } from '../config.ts';
import { createOutboxTransport } from './outbox.ts';
import { createSmtpTransport } from './smtp-transport.ts';
import type { Transport } from './transport.ts';

/** SMTP pool from `config.smtp.url`, else an outbox writer to `${config.outboxDir}/<editionId>/<seq>-<recipient>.eml`. */
export function createTransport(config: Config): Transport {
  return config.smtp.url ? createSmtpTransport(config) : createOutboxTransport(config.outboxDir);
}
