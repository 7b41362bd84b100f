import type { Route } from '../app.ts';
import { editionCopy, editionPage } from './edition-page.ts';
import { dropEditor, editorsPage, saveEditor } from './editors-page.ts';
import { overview } from './overview.ts';
import { requestSignIn, signInLinkPage, signInPage, signOut, spendLink } from './sign-in.ts';
import { subscribersPage, unsuppress } from './subscribers-page.ts';
import { sendTestCopy } from './test-copy.ts';

/** Every URL of the editors' desk. */
export const DESK_ROUTES: Route[] = [
  { pattern: /^\/desk\/?$/, methods: { GET: overview } },
  { pattern: /^\/desk\/sign-in$/, methods: { GET: signInPage, POST: requestSignIn } },
  { pattern: /^\/desk\/sign-in\/([^/]+)$/, methods: { GET: signInLinkPage, POST: spendLink } },
  { pattern: /^\/desk\/sign-out$/, methods: { POST: signOut } },
  { pattern: /^\/desk\/editions\/([^/]+)$/, methods: { GET: editionPage } },
  { pattern: /^\/desk\/editions\/([^/]+)\/copy$/, methods: { GET: editionCopy } },
  { pattern: /^\/desk\/editions\/([^/]+)\/test-copy$/, methods: { POST: sendTestCopy } },
  { pattern: /^\/desk\/subscribers$/, methods: { GET: subscribersPage } },
  { pattern: /^\/desk\/subscribers\/unsuppress$/, methods: { POST: unsuppress } },
  { pattern: /^\/desk\/editors$/, methods: { GET: editorsPage, POST: saveEditor } },
  { pattern: /^\/desk\/editors\/remove$/, methods: { POST: dropEditor } },
];
