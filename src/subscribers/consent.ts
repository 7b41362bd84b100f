/** Where a subscriber's consent came from. */
export type ConsentSource = 'form' | 'operator' | 'import';

/** The consent wording shown on the subscribe form, by version; a version is never edited once used, only added. */
export const CONSENT_WORDINGS: Record<string, string> = {
  'v1-2026-11':
    'By subscribing you agree to receive the Call Me Almanac editions you chose by email. ' +
    'We keep your address, your name if you give it, your edition choice and a record of this consent ' +
    '(time, IP address, this wording\u2019s version). Every email has a one-click unsubscribe link, ' +
    'and you can ask us for a copy of your data or its erasure at any time.',
};

/** The wording version the form shows now. */
export const CURRENT_CONSENT_VERSION = 'v1-2026-11';

/** The wording of the current version. */
export function currentConsentWording(): string {
  return CONSENT_WORDINGS[CURRENT_CONSENT_VERSION]!;
}
