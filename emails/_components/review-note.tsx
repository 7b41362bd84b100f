/** @jsxRuntime automatic */
/** @jsxImportSource react */
import type { ReviewNote as ReviewNoteData } from '../../src/render/types.ts';
import { cellType, colors, fonts, label, sizes } from '../theme.ts';
import { Cell } from './layout-table.tsx';

/** The note above an editor's [REVIEW] copy: where the edition stands, when it goes out, how to approve it, the pre-send checks. */
export const ReviewNote = ({ review }: { review: ReviewNoteData }) => (
  <Cell
    style={{
      backgroundColor: colors.reviewBg,
      color: colors.reviewText,
      borderTop: `4px solid ${colors.reviewBorder}`,
      padding: `16px ${sizes.gutter}px 14px`,
      ...cellType(14, 1.5),
    }}
  >
    <p style={label(colors.reviewText)}>Review copy for the editors: subscribers do not get this note</p>
    <p style={{ margin: '0 0 6px' }}>
      <strong>State: </strong>
      {review.state}
      <br />
      <strong>Sends: </strong>
      {review.sendAt}
    </p>
    <p style={{ margin: '0 0 6px', fontFamily: fonts.mono, fontSize: '13px', wordBreak: 'break-all' }}>{review.command}</p>
    <p style={{ margin: '0' }}>
      <strong>Pre-send checks: </strong>
      {review.checks.length === 0 ? 'ok' : `${review.checks.length} problem(s): ${review.checks.join('; ')}`}
    </p>
    {review.changes ? <p style={{ margin: '6px 0 0' }}>{review.changes}</p> : null}
  </Cell>
);
