/** @jsxRuntime automatic */
/** @jsxImportSource react */
import type { CSSProperties, ReactNode } from 'react';

interface LayoutTableProps {
  children: ReactNode;
  style?: CSSProperties;
  align?: 'center';
}

/**
 * A full-width presentation table whose children are rows (Cell): the email-safe way to stack padded,
 * bordered blocks, since Outlook ignores padding on divs. Smaller than React Email's Section, which
 * wraps every block in a table of its own and styles the table rather than the cell.
 */
export const LayoutTable = ({ children, style, align }: LayoutTableProps) => (
  <table role="presentation" width="100%" border={0} cellPadding={0} cellSpacing={0} align={align} style={style}>
    <tbody>{children}</tbody>
  </table>
);

/** One row of a LayoutTable with one cell; the cell carries the padding, colours, borders and type. */
export const Cell = ({ children, style }: { children: ReactNode; style?: CSSProperties }) => (
  <tr>
    <td style={style}>{children}</td>
  </tr>
);
