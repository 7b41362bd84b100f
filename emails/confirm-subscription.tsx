/** @jsxRuntime automatic */
/** @jsxImportSource react */
import { Body, Container, Head, Html, Link, Preview, Section, Text } from '@react-email/components';
import type { Kind } from '../src/config.ts';
import { KIND_NAMES } from '../src/editions/calendar.ts';
import { NEWSLETTER_NAME } from '../src/editions/compose.ts';
import { button, colors, fonts, sizes, text } from './theme.ts';
import { siteHost } from './_components/format.ts';

interface ConfirmSubscriptionEmailProps {
  name: string | null;
  confirmUrl: string;
  editions: Kind[];
  baseUrl: string;
  postalAddress: string;
}

/** The confirmation email's subject. */
export const confirmSubject = `Confirm your subscription to ${NEWSLETTER_NAME}`;

function editionList(editions: Kind[]): string {
  const names = editions.map((k) => `the ${KIND_NAMES[k]} edition`);
  return names.length === 0 ? 'the newsletter' : names.join(' and ');
}

/** Double opt-in: one button to confirm, and what happens if you ignore it. */
export const ConfirmSubscriptionEmail = ({ name, confirmUrl, editions, baseUrl, postalAddress }: ConfirmSubscriptionEmailProps) => (
  <Html lang="en">
    <Head>
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <meta name="color-scheme" content="light" />
      <title>{confirmSubject}</title>
    </Head>
    <Preview>One click to start receiving {editionList(editions)}.</Preview>
    <Body style={{ margin: '0', padding: '16px 8px 24px', backgroundColor: colors.page, color: colors.pageText }}>
      <Container style={{ maxWidth: `${sizes.containerWidth}px`, width: '100%', backgroundColor: colors.paper, color: colors.ink, fontFamily: fonts.sans }}>
        <Section style={{ backgroundColor: colors.mastheadBg, color: colors.mastheadText, padding: `22px ${sizes.gutter}px` }}>
          <Text style={{ margin: '0', fontFamily: fonts.serif, fontSize: '26px', lineHeight: 1.2, fontWeight: 700, color: colors.mastheadText }}>
            {NEWSLETTER_NAME}
          </Text>
        </Section>
        <Section style={{ backgroundColor: colors.paper, color: colors.ink, padding: `26px ${sizes.gutter}px 18px` }}>
          <Text style={text}>{name ? `Hi ${name},` : 'Hello,'}</Text>
          <Text style={text}>
            Someone, hopefully you, asked to receive {editionList(editions)} of {NEWSLETTER_NAME} at this address. Please confirm
            that it was you:
          </Text>
          <Text style={{ margin: '20px 0', fontFamily: fonts.sans }}>
            <Link
              href={confirmUrl}
              style={button(true)}
            >
              Confirm my subscription
            </Link>
          </Text>
          <Text style={{ ...text, fontSize: `${sizes.small}px`, color: colors.muted }}>
            Or paste this link into your browser:{' '}
            <Link href={confirmUrl} style={{ color: colors.link, textDecoration: 'underline' }}>
              {confirmUrl}
            </Link>
          </Text>
          <Text style={text}>If you did not ask for this, ignore this email: you will not hear from us again.</Text>
        </Section>
        <Section style={{ backgroundColor: colors.footerBg, color: colors.footerText, padding: `18px ${sizes.gutter}px` }}>
          <Text style={{ margin: '0', fontFamily: fonts.sans, fontSize: `${sizes.small}px`, lineHeight: 1.6, color: colors.footerText }}>
            {NEWSLETTER_NAME} ·{' '}
            <Link href={baseUrl} style={{ color: colors.footerText, textDecoration: 'underline' }}>
              {siteHost(baseUrl)}
            </Link>
            <br />
            {postalAddress}
          </Text>
        </Section>
      </Container>
    </Body>
  </Html>
);

ConfirmSubscriptionEmail.PreviewProps = {
  name: 'Ada',
  confirmUrl: 'http://localhost:3000/confirm/preview-token',
  editions: ['midweek', 'sunday'],
  baseUrl: 'http://localhost:3000',
  postalAddress: 'Call Me Almanac, 1 Example Street, Springfield 00000',
} satisfies ConfirmSubscriptionEmailProps;

export default ConfirmSubscriptionEmail;
