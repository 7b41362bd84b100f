/**
 * A connection-level failure (refused, timed out, dropped): nothing about the recipient is known
 * from the server. `inDoubt` is true when the whole message may have reached the server before
 * the connection died (the end-of-data was written but no reply arrived): resending could duplicate it.
 */
export class TransportError extends Error {
  override name = 'TransportError';
  readonly inDoubt: boolean;
  /** nodemailer/Node error code, e.g. ECONNECTION, ESOCKET, ETIMEDOUT. */
  readonly code: string | undefined;

  constructor(message: string, options: { inDoubt: boolean; code?: string; cause?: unknown }) {
    super(message, { cause: options.cause });
    this.inDoubt = options.inDoubt;
    this.code = options.code;
  }
}
