/** @jsxRuntime automatic */
/** @jsxImportSource react */
import { cellType, colors, sizes } from '../theme.ts';
import { Cell } from './layout-table.tsx';
import { MarkdownBlock } from './markdown-block.tsx';

/** The editor's letter from the edition file: the edition's first row under the masthead, rendered by the safe Markdown renderer. */
export const EditorsLetter = ({ letter }: { letter: string }) => (
  <Cell
    style={{
      backgroundColor: colors.paper,
      color: colors.ink,
      padding: `24px ${sizes.gutter}px 10px`,
      borderBottom: `1px solid ${colors.rule}`,
      ...cellType(),
    }}
  >
    <MarkdownBlock markdown={letter} />
  </Cell>
);
