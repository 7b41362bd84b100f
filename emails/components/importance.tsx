/** @jsxRuntime automatic */
/** @jsxImportSource react */
import { colors, fonts, sizes } from '../theme.ts';

/** The editors' importance mark for a news item, e.g. `Importance 8/10`. */
export const Importance = ({ score }: { score: number }) => (
  <span
    style={{
      display: 'inline-block',
      padding: '1px 7px',
      borderRadius: '10px',
      backgroundColor: colors.badgeBg,
      color: colors.badgeText,
      fontFamily: fonts.sans,
      fontSize: `${sizes.tiny - 1}px`,
      fontWeight: 700,
      letterSpacing: '0.02em',
      whiteSpace: 'nowrap',
    }}
  >
    Importance {score}/10
  </span>
);
