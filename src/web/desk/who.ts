import type { Editor } from '../../store/editors.ts';

/** The signed-in editor of a request, and the CSRF token their forms carry. */
export interface Who {
  editor: Editor;
  /** The token every POST form of this session carries (field `csrf`). */
  csrf: string;
  /** The session's id from the cookie (sign-out ends it). */
  sessionId: string;
}
