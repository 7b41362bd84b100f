import { html } from '../html.ts';
import { signedIn } from './auth.ts';
import { deskPage } from './layout.ts';

/** `GET /desk`: the overview. */
export const overview = signedIn((_r, _app, who) =>
  deskPage(200, 'Overview', html`<section class="panel"><h1>The desk</h1><p>Signed in as ${who.editor.email}.</p></section>`, { who }),
);
