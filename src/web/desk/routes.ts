import type { Route } from '../app.ts';
import { overview } from './overview.ts';
import { requestSignIn, signInLinkPage, signInPage, signOut, spendLink } from './sign-in.ts';

/** Every URL of the editors' desk. */
export const DESK_ROUTES: Route[] = [
  { pattern: /^\/desk\/?$/, methods: { GET: overview } },
  { pattern: /^\/desk\/sign-in$/, methods: { GET: signInPage, POST: requestSignIn } },
  { pattern: /^\/desk\/sign-in\/([^/]+)$/, methods: { GET: signInLinkPage, POST: spendLink } },
  { pattern: /^\/desk\/sign-out$/, methods: { POST: signOut } },
];
