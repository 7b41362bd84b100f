/** @jsxRuntime automatic */
/** @jsxImportSource react */
import type { Kind } from '../../src/config.ts';
import { KIND_NAMES } from '../../src/editions/calendar.ts';
import { NEWSLETTER_NAME } from '../../src/editions/compose.ts';
import type { RecipientLinks } from '../../src/render/types.ts';
import { cellType, colors, sizes } from '../theme.ts';
import { siteHost } from './format.ts';
import { Cell } from './layout-table.tsx';

interface FooterProps {
  kind: Kind;
  number: number;
  links: RecipientLinks;
  /** Left out when the edition has no archive page yet. */
  archiveUrl: string | undefined;
  baseUrl: string;
  postalAddress: string;
}

const footerLink = { color: colors.footerText, textDecoration: 'underline' };
const paragraph = { margin: '0 0 10px' };

/** Why you get this, preferences, one-click unsubscribe, the archive copy and the postal address: the container's last row. */
export const Footer = ({ kind, number, links, archiveUrl, baseUrl, postalAddress }: FooterProps) => (
  <Cell
    style={{
      backgroundColor: colors.footerBg,
      color: colors.footerText,
      padding: `22px ${sizes.gutter}px 28px`,
      borderTop: `1px solid ${colors.rule}`,
      ...cellType(sizes.small, 1.6),
    }}
  >
    <p style={paragraph}>
      {`You get the ${KIND_NAMES[kind]} edition of ${NEWSLETTER_NAME} because you subscribed at `}
      <a href={baseUrl} style={footerLink} target="_blank">
        {siteHost(baseUrl)}
      </a>
      . Reply to this email to reach the editors.
    </p>
    <p style={{ ...paragraph, fontWeight: 700 }}>
      <a href={links.preferencesUrl} style={footerLink} target="_blank">
        Manage preferences
      </a>
      {' · '}
      <a href={links.unsubscribeUrl} style={footerLink} target="_blank">
        Unsubscribe
      </a>
      {archiveUrl ? (
        <>
          {' · '}
          <a href={archiveUrl} style={footerLink} target="_blank">
            View in browser
          </a>
        </>
      ) : null}
    </p>
    <p style={{ margin: '0' }}>
      {`${NEWSLETTER_NAME} · ${KIND_NAMES[kind]} No. ${number}`}
      <br />
      {postalAddress}
    </p>
  </Cell>
);
