/** @jsxRuntime automatic */
/** @jsxImportSource react */
import { colors, label } from '../theme.ts';

/** A section heading: a small uppercase label in the cell's ink over an ink rule. */
export const SectionLabel = ({ children }: { children: string }) => (
  <p style={{ ...label(), margin: '0', padding: '0 0 8px', borderBottom: `2px solid ${colors.ink}` }}>{children}</p>
);
