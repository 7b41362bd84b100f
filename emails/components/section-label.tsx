/** @jsxRuntime automatic */
/** @jsxImportSource react */
import { Text } from '@react-email/components';
import { colors, label } from '../theme.ts';

/** A section heading: a small uppercase label over a rule in the kind's accent. */
export const SectionLabel = ({ children, color }: { children: string; color: string }) => (
  <Text style={{ ...label(color), margin: '0', padding: '0 0 8px', borderBottom: `2px solid ${colors.ink}` }}>{children}</Text>
);
