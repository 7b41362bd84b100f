import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * CSRF tokens of the desk's forms: an HMAC of the cookie the browser holds (the session id, or the
 * pre-session value on the sign-in pages) under a key derived from the signing secret. Another site can
 * make a browser send the cookie but cannot read it, so it cannot make the token; every web server on
 * the database shares the secret, so a token made on one is accepted by the others.
 */
export class CsrfTokens {
  private readonly key: Buffer;

  constructor(secret: string) {
    this.key = createHmac('sha256', secret).update('almanac desk csrf v1').digest();
  }

  /** The token for forms shown to the holder of `cookieValue` (`purpose` keeps session and pre-session tokens apart). */
  token(purpose: 'session' | 'pre', cookieValue: string): string {
    return createHmac('sha256', this.key).update(`${purpose}:${cookieValue}`).digest('base64url');
  }

  /** True when `given` is the token for that cookie (compared in constant time). */
  verify(purpose: 'session' | 'pre', cookieValue: string | undefined, given: string | undefined): boolean {
    if (!cookieValue || !given) return false;
    const expected = Buffer.from(this.token(purpose, cookieValue));
    const actual = Buffer.from(given);
    return actual.length === expected.length && timingSafeEqual(actual, expected);
  }
}
