/** @jsxRuntime automatic */
/** @jsxImportSource react */
import { Link, Section, Text } from '@react-email/components';
import type { Kind } from '../../src/config.ts';
import { KIND_NAMES } from '../../src/editions/calendar.ts';
import { NEWSLETTER_NAME } from '../../src/editions/compose.ts';
import { accents, colors, fonts, label, sizes } from '../theme.ts';
import { editionLine } from './format.ts';

interface MastheadProps {
  kind: Kind;
  number: number;
  date: string;
  archiveUrl: string;
}

/** The newsletter's name and the edition's identity: `Midweek · No. 47 · Wednesday 25 November 2026`. */
export const Masthead = ({ kind, number, date, archiveUrl }: MastheadProps) => {
  const accent = accents[kind];
  return (
    <>
      <Section style={{ backgroundColor: colors.page, color: colors.pageText }}>
        <Text style={{ margin: '0', padding: '14px 4px 10px', fontFamily: fonts.sans, fontSize: `${sizes.tiny}px`, lineHeight: 1.4, textAlign: 'right', color: colors.pageText }}>
          <Link href={archiveUrl} style={{ color: colors.pageText, textDecoration: 'underline' }}>
            View in browser
          </Link>
        </Text>
      </Section>
      <Section
        style={{
          backgroundColor: colors.mastheadBg,
          color: colors.mastheadText,
          borderBottom: `5px solid ${accent.accent}`,
          padding: `30px ${sizes.gutter}px 26px`,
        }}
      >
        <Text style={label(accent.accent)}>{accent.kicker}</Text>
        <Text
          style={{
            margin: '0 0 10px',
            fontFamily: fonts.serif,
            fontSize: `${sizes.masthead}px`,
            lineHeight: 1.15,
            fontWeight: 700,
            letterSpacing: '-0.01em',
            color: colors.mastheadText,
          }}
        >
          {NEWSLETTER_NAME}
        </Text>
        <Text style={{ margin: '0', fontFamily: fonts.sans, fontSize: '14px', lineHeight: 1.5, color: colors.mastheadMuted }}>
          <strong style={{ color: colors.mastheadText }}>{KIND_NAMES[kind]}</strong>
          {editionLine(KIND_NAMES[kind], number, date).slice(KIND_NAMES[kind].length)}
        </Text>
      </Section>
    </>
  );
};
