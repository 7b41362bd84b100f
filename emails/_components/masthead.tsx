/** @jsxRuntime automatic */
/** @jsxImportSource react */
import type { Kind } from '../../src/config.ts';
import { KIND_NAMES } from '../../src/editions/calendar.ts';
import { NEWSLETTER_NAME } from '../../src/editions/compose.ts';
import { accents, cellType, colors, label, serif, sizes } from '../theme.ts';
import { editionLine } from './format.ts';
import { Cell } from './layout-table.tsx';

interface MastheadProps {
  kind: Kind;
  number: number;
  date: string;
  /** Left out (no "View in browser" row) when the edition has no archive page yet. */
  archiveUrl: string | undefined;
}

/** The newsletter's name and the edition's identity: `Midweek · No. 47 · Wednesday 25 November 2026`. Two rows of the container. */
export const Masthead = ({ kind, number, date, archiveUrl }: MastheadProps) => {
  const accent = accents[kind];
  return (
    <>
      {archiveUrl ? (
        <Cell
          style={{
            backgroundColor: colors.page,
            color: colors.pageText,
            padding: '14px 4px 10px',
            ...cellType(sizes.tiny, 1.4),
            textAlign: 'right',
          }}
        >
          <a href={archiveUrl} style={{ color: colors.pageText, textDecoration: 'underline' }} target="_blank">
            View in browser
          </a>
        </Cell>
      ) : null}
      <Cell
        style={{
          backgroundColor: colors.mastheadBg,
          color: colors.mastheadText,
          borderBottom: `5px solid ${accent.accent}`,
          padding: `30px ${sizes.gutter}px 26px`,
          ...cellType(14, 1.5),
        }}
      >
        <p style={label(accent.accent)}>{accent.kicker}</p>
        <p style={{ margin: '0 0 10px', ...serif(sizes.masthead, 1.15), letterSpacing: '-0.01em' }}>{NEWSLETTER_NAME}</p>
        <p style={{ margin: '0', color: colors.mastheadMuted }}>
          <strong style={{ color: colors.mastheadText }}>{KIND_NAMES[kind]}</strong>
          {editionLine(KIND_NAMES[kind], number, date).slice(KIND_NAMES[kind].length)}
        </p>
      </Cell>
    </>
  );
};
