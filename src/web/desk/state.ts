import { loadSecret } from '../../store/secret.ts';
import type { App } from '../app.ts';
import { SlidingWindowLimiter } from '../rate-limit.ts';
import { isSecureBase } from './cookies.ts';
import { CsrfTokens } from './csrf.ts';

/** Sign-in requests allowed per address and per client (rolling windows). */
export const SIGN_IN_RATE_LIMIT = {
  perAddress: { limit: 3, windowMs: 15 * 60_000 },
  perClient: { limit: 10, windowMs: 15 * 60_000 },
} as const;

/** What the desk keeps per web server. */
export interface DeskState {
  csrf: CsrfTokens;
  /** Sign-in requests per address asked for (whoever asks): a mailbox is not flooded with links. */
  perAddress: SlidingWindowLimiter;
  /** Sign-in requests per client address (IPv6 by /64): one client cannot try many addresses. */
  perClient: SlidingWindowLimiter;
  /** ALMANAC_BASE_URL is https: Secure `__Host-` cookies. */
  secure: boolean;
}

const states = new WeakMap<App, Promise<DeskState>>();

/** The desk's state of this server, made at its first desk request (the signing secret comes from the store). */
export function deskState(app: App): Promise<DeskState> {
  let state = states.get(app);
  if (!state) {
    const limits = app.deps.signInRateLimit ?? SIGN_IN_RATE_LIMIT;
    state = loadSecret(app.db, app.config).then((secret) => ({
      csrf: new CsrfTokens(secret),
      perAddress: new SlidingWindowLimiter(limits.perAddress.limit, limits.perAddress.windowMs, app.clock),
      perClient: new SlidingWindowLimiter(limits.perClient.limit, limits.perClient.windowMs, app.clock),
      secure: isSecureBase(app.config.baseUrl),
    }));
    state.catch(() => states.delete(app)); // a database that did not answer: try again at the next request
    states.set(app, state);
  }
  return state;
}
