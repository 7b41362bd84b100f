import type { App, Handler } from '../app.ts';
import { errorText } from '../../log.ts';
import { pingStore } from '../../store/open.ts';
import { json } from '../pages.ts';

/** What an unauthenticated caller is told when the database does not answer (the driver's text names hosts, ports, users). */
export const DB_UNAVAILABLE = 'database unavailable';

/** The last database error logged per server: logged when it changes, not once per probe (a stranger can poll /healthz). */
const lastLogged = new WeakMap<App, string>();

/**
 * `GET /healthz`: `{ ok, db, scheduler }`, 200 when the database answers, else 503 with `db: "database
 * unavailable"`. Anyone can call it, so it says what is wrong, never the details: the driver's error
 * goes to the operator's log, and the scheduler part names an edition and its outcome, not the error.
 */
export const health: Handler = async (_r, app) => {
  let db = 'ok';
  try {
    await pingStore(app.db);
    lastLogged.delete(app);
  } catch (error) {
    db = DB_UNAVAILABLE;
    const text = errorText(error);
    if (lastLogged.get(app) !== text) app.log(`healthz: the database does not answer: ${text}`);
    lastLogged.set(app, text);
  }
  let scheduler: Record<string, unknown> | null;
  try {
    scheduler = publicScheduler(app.deps.health?.() ?? null);
  } catch (error) {
    app.log(`healthz: the scheduler's state cannot be read: ${errorText(error)}`);
    scheduler = { error: 'scheduler state unavailable' };
  }
  const ok = db === 'ok';
  return json(ok ? 200 : 503, { ok, db, scheduler });
};

/**
 * The scheduler's snapshot without free text: each last run keeps its edition, outcome and time but
 * not its detail, and `error` keeps `<edition>: <outcome>` (the detail, which can quote a driver's or
 * a relay's error, is in the log's `schedule.*` line).
 */
function publicScheduler(snapshot: Record<string, unknown> | null): Record<string, unknown> | null {
  if (!snapshot) return null;
  const out: Record<string, unknown> = { ...snapshot };
  if (typeof out.error === 'string') out.error = out.error.split(': ').slice(0, 2).join(': ');
  if (out.last && typeof out.last === 'object') {
    out.last = Object.fromEntries(
      Object.entries(out.last as Record<string, unknown>).map(([kind, run]) => {
        if (!run || typeof run !== 'object') return [kind, run];
        const { detail: _, ...rest } = run as Record<string, unknown>;
        return [kind, rest];
      }),
    );
  }
  return out;
}
