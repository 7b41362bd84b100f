/**
 * A connection-level failure (refused, timed out, dropped): nothing about the recipient is known
 * from the server. `inDoubt` is true when the whole message may have reached the server before
 * the connection died (the end-of-data was written but no reply arrived): resending could duplicate it.
 */
export class TransportError extends Error {
  override name = 'TransportError';
  readonly inDoubt: boolean;
  /** nodemailer/Node error code, e.g. ECONNECTION, ESOCKET, ETIMEDOUT, EAUTH. */
  readonly code: string | undefined;
  /** The server's reply code when it refused the session itself (e.g. 535 to AUTH). */
  readonly responseCode: number | undefined;

  constructor(message: string, options: { inDoubt: boolean; code?: string; responseCode?: number; cause?: unknown }) {
    super(message, { cause: options.cause });
    this.inDoubt = options.inDoubt;
    this.code = options.code;
    this.responseCode = options.responseCode;
  }

  /** The relay refused our credentials for good (a 5xx reply to AUTH): retrying cannot help. */
  get credentialsRefused(): boolean {
    return this.code === 'EAUTH' && (this.responseCode ?? 500) >= 500;
  }

  /** TLS is required and the relay does not offer (or refuses) STARTTLS: retrying cannot help. */
  get starttlsRefused(): boolean {
    return this.code === 'ETLS' && /STARTTLS/.test(this.message);
  }
}
