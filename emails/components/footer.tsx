/** @jsxRuntime automatic */
/** @jsxImportSource react */
import { Link, Section, Text } from '@react-email/components';
import type { Kind } from '../../src/config.ts';
import { KIND_NAMES } from '../../src/editions/calendar.ts';
import { NEWSLETTER_NAME } from '../../src/editions/compose.ts';
import type { RecipientLinks } from '../../src/render/types.ts';
import { colors, fonts, sizes } from '../theme.ts';
import { siteHost } from './format.ts';

interface FooterProps {
  kind: Kind;
  number: number;
  links: RecipientLinks;
  archiveUrl: string;
  baseUrl: string;
  postalAddress: string;
}

const small = {
  margin: '0 0 10px',
  fontFamily: fonts.sans,
  fontSize: `${sizes.small}px`,
  lineHeight: 1.6,
  color: colors.footerText,
};
const footerLink = { color: colors.footerText, textDecoration: 'underline' };

/** Why you get this, preferences, one-click unsubscribe, the archive copy and the postal address. */
export const Footer = ({ kind, number, links, archiveUrl, baseUrl, postalAddress }: FooterProps) => (
  <Section style={{ backgroundColor: colors.footerBg, color: colors.footerText, padding: `22px ${sizes.gutter}px 28px`, borderTop: `1px solid ${colors.rule}` }}>
    <Text style={small}>
      You get the {KIND_NAMES[kind]} edition of {NEWSLETTER_NAME} because you subscribed at{' '}
      <Link href={baseUrl} style={footerLink}>
        {siteHost(baseUrl)}
      </Link>
      . Reply to this email to reach the editors.
    </Text>
    <Text style={{ ...small, fontWeight: 700 }}>
      <Link href={links.preferencesUrl} style={footerLink}>
        Manage preferences
      </Link>
      {' · '}
      <Link href={links.unsubscribeUrl} style={footerLink}>
        Unsubscribe
      </Link>
      {' · '}
      <Link href={archiveUrl} style={footerLink}>
        View in browser
      </Link>
    </Text>
    <Text style={{ ...small, margin: '0' }}>
      {NEWSLETTER_NAME} · {KIND_NAMES[kind]} No. {number}
      <br />
      {postalAddress}
    </Text>
  </Section>
);
