import type { Handler } from '../app.ts';
import { errorText } from '../../log.ts';
import { pingStore } from '../../store/open.ts';
import { json } from '../pages.ts';

/** `GET /healthz`: `{ ok, db, scheduler }`, 200 when the database answers, else 503. */
export const health: Handler = async (_r, app) => {
  let db: string;
  try {
    await pingStore(app.db);
    db = 'ok';
  } catch (error) {
    db = errorText(error);
  }
  let scheduler: Record<string, unknown> | null;
  try {
    scheduler = app.deps.health?.() ?? null;
  } catch (error) {
    scheduler = { error: errorText(error) };
  }
  const ok = db === 'ok';
  return json(ok ? 200 : 503, { ok, db, scheduler });
};
