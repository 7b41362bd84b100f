import { publishTestCopy } from '../../publish/publish-test-copy.ts';
import { recordDeskAudit } from '../../store/desk-audit.ts';
import { signedIn } from './auth.ts';
import { slotOf } from './edition-page.ts';
import { editionHref } from './format.ts';
import { deskMessage, seeOther } from './layout.ts';

/**
 * `POST /desk/editions/<id>/test-copy`: sends one copy marked [TEST] to the signed-in editor's own
 * address (never another: the desk is not a way to mail anyone), through the configured transport,
 * and writes the outcome to the audit log. Then back to the edition page.
 */
export const sendTestCopy = signedIn(async (r, app, who) => {
  const slot = slotOf(app, r.params[0]!);
  if (!slot) return deskMessage(404, 'No such edition', `There is no edition ${r.params[0]}.`, { who });
  let outcome: string;
  let ok = false;
  try {
    const sent = await publishTestCopy(
      { config: app.config, store: app.db, transport: app.deps.transport },
      { kind: slot.kind, date: slot.date, contentDir: app.deps.contentDir, to: who.editor.email },
    );
    ok = sent.result.status === 'sent';
    const warnings = sent.warnings.length ? `, ${sent.warnings.length} check warning(s)` : '';
    outcome = `${sent.result.status}: ${sent.result.response.split('\n')[0]!.slice(0, 200)}${warnings}`;
  } catch (error) {
    outcome = `not sent: ${(error as Error).message.split('\n')[0]!.slice(0, 200)}`;
    app.log(`desk: test copy of ${slot.id} not sent: ${(error as Error).message}`);
  }
  await recordDeskAudit(app.db, { at: app.clock().toISOString(), actor: who.editor.email, action: 'test-copy', subject: slot.id, detail: `to ${who.editor.email}, ${outcome}` });
  return seeOther(`${editionHref(slot.id)}?notice=${ok ? 'test-sent' : 'test-failed'}`);
});
