/** @jsxRuntime automatic */
/** @jsxImportSource react */
import { colors, sizes } from '../theme.ts';

/** The editors' importance mark for a news item, e.g. `Importance 8/10`; its font comes from the cell. */
export const Importance = ({ score }: { score: number }) => (
  <span
    style={{
      display: 'inline-block',
      padding: '1px 7px',
      borderRadius: '10px',
      backgroundColor: colors.badgeBg,
      color: colors.badgeText,
      fontSize: `${sizes.tiny - 1}px`,
      fontWeight: 700,
      letterSpacing: '0.02em',
      whiteSpace: 'nowrap',
    }}
  >
    {`Importance ${score}/10`}
  </span>
);
