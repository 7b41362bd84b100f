/** @jsxRuntime automatic */
/** @jsxImportSource react */
import type { Sponsor } from '../../src/content/loader.ts';
import { cellType, colors, label, sizes } from '../theme.ts';
import { Cell, LayoutTable } from './layout-table.tsx';

/**
 * Marks the sponsor's link so that click tracking (src/tracking/rewrite.ts) leaves it alone: a
 * sponsor link carries no tracking of its own, whatever ALMANAC_TRACKING says.
 */
export const SPONSOR_LINK_ATTRIBUTE = 'data-almanac-sponsor';

/**
 * The sponsor block: a row of the container with a bordered box of its own colour, labelled
 * "Sponsor", the sponsor's name linked to its https URL and its text. Set apart from the editorial
 * content on purpose.
 */
export const SponsorBlock = ({ sponsor }: { sponsor: Sponsor }) => (
  <Cell style={{ backgroundColor: colors.paper, color: colors.ink, padding: `8px ${sizes.gutter}px 16px`, ...cellType() }}>
    <LayoutTable>
      <Cell
        style={{
          backgroundColor: colors.sponsorBg,
          color: colors.sponsorText,
          border: `1px solid ${colors.sponsorBorder}`,
          padding: '14px 18px 16px',
          ...cellType(15, 1.5),
        }}
      >
        <p style={label(colors.sponsorMuted)}>Sponsor</p>
        <p style={{ margin: '0 0 6px', fontWeight: 700 }}>
          <a {...{ [SPONSOR_LINK_ATTRIBUTE]: 'true' }} href={sponsor.url} style={{ color: colors.link, textDecoration: 'underline' }} target="_blank">
            {sponsor.name}
          </a>
        </p>
        <p style={{ margin: '0' }}>{sponsor.text}</p>
      </Cell>
    </LayoutTable>
  </Cell>
);
