import { recentFires } from '../../store/desk-queries.ts';
import { pingStore } from '../../store/open.ts';
import type { App } from '../app.ts';
import { html, type SafeHtml } from '../html.ts';
import { localTime, scrollTable } from './format.ts';

interface LastRun {
  edition?: unknown;
  outcome?: unknown;
  at?: unknown;
}

/** What the scheduler of this process says (the same snapshot /healthz shows), or why there is none. */
function inProcess(app: App): SafeHtml {
  let snapshot: Record<string, unknown> | null = null;
  try {
    snapshot = app.deps.health?.() ?? null;
  } catch {
    return html`<p>The scheduler’s state cannot be read right now.</p>`;
  }
  if (!snapshot) return html`<p>No scheduler runs in this web server’s process (it runs in <code>npm start</code> or <code>almanac schedule</code>, maybe on another host: its fires are below).</p>`;
  const tz = app.config.timezone;
  const last = Object.entries((snapshot.last ?? {}) as Record<string, LastRun>).map(
    ([kind, run]) => html`<li>${kind}: ${String(run.edition ?? '?')} ${String(run.outcome ?? '?')}${typeof run.at === 'string' ? ` at ${localTime(run.at, tz)}` : ''}</li>`,
  );
  const next = Object.entries((snapshot.next ?? {}) as Record<string, unknown>).map(([kind, at]) => html`<li>${kind}: ${typeof at === 'string' ? localTime(at, tz) : String(at)}</li>`);
  return html`<p>Scheduler in this process: <strong>${snapshot.running ? 'running' : 'not running'}</strong>${typeof snapshot.error === 'string' ? html` · <span class="error">${snapshot.error}</span>` : ''}.</p>
${next.length ? html`<p>Next sends:</p><ul>${next}</ul>` : ''}${last.length ? html`<p>Last attempts:</p><ul>${last}</ul>` : ''}`;
}

/** The scheduler's health: this process's scheduler (as /healthz), the fires of every scheduler on the database, and the database itself. */
export async function schedulerSection(app: App): Promise<SafeHtml> {
  let db = 'answers';
  try {
    await pingStore(app.db);
  } catch {
    db = 'does not answer';
  }
  const fires = await recentFires(app.db, 5).catch(() => []);
  const rows = fires.map(
    (f) => html`<tr><td>${f.editionId}</td><td>${localTime(f.firedAt, app.config.timezone)}</td><td class="n">${f.attempts}</td><td>${f.running ? 'running' : 'ended'}</td><td>${f.owner.split(':')[0]}</td></tr>`,
  );
  return html`<section class="panel" aria-labelledby="health-h"><h2 id="health-h">Scheduler</h2>
${inProcess(app)}
${rows.length ? html`${scrollTable('Scheduler fires', html`<table class="data"><caption class="fine">Latest fires of every scheduler on the database</caption><thead><tr><th scope="col">Edition</th><th scope="col">Fired</th><th scope="col">Attempts</th><th scope="col">Now</th><th scope="col">Host</th></tr></thead><tbody>${rows}</tbody></table>`)}` : html`<p>No scheduler has fired an edition on this database yet.</p>`}
<p>The database ${db}.</p></section>`;
}
