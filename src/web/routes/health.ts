import type { Handler } from '../app.ts';
import { errorText } from '../../log.ts';
import { json } from '../pages.ts';

/** `GET /healthz`: `{ ok, db, scheduler }`, 200 when the database answers, else 503. */
export const health: Handler = (_r, app) => {
  let db: string;
  try {
    app.deps.db.prepare('SELECT 1').get();
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
