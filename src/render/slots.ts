import type { RecipientLinks } from './types.ts';

/**
 * Per-recipient slots: placeholders that pass unchanged through React, toPlainText and HTML
 * escaping (only letters, digits, `_` and `%`), filled by plain substitution after the one render.
 */
export const SLOTS = {
  unsubscribeUrl: '%%ALMANAC_UNSUBSCRIBE_URL%%',
  preferencesUrl: '%%ALMANAC_PREFERENCES_URL%%',
  trackingReader: '%%ALMANAC_TRACKING_READER%%',
} as const satisfies Record<keyof RecipientLinks, string>;

export type SlotName = keyof typeof SLOTS;

/** Matches any slot-like marker, known or not, so a leftover is always caught. */
export const SLOT_PATTERN = /%%ALMANAC_[A-Z_]+%%/g;

/** The links a rendered edition carries before personalisation: the slot markers themselves. */
export const SLOT_LINKS: RecipientLinks = { ...SLOTS };

/** Which slot a marker is, or undefined for an unknown marker. */
export function slotName(marker: string): SlotName | undefined {
  return (Object.keys(SLOTS) as SlotName[]).find((name) => SLOTS[name] === marker);
}

/** Slots only some editions carry (personal tracking): their value may be absent; filling an edition that has one still requires it. */
const OPTIONAL_SLOTS: ReadonlySet<SlotName> = new Set(['trackingReader']);

/** Throws naming the slot when a link value is missing, so no copy goes out with a hole in it. */
export function assertLinks(links: RecipientLinks, what: string): void {
  for (const name of Object.keys(SLOTS) as SlotName[]) {
    const value = links[name];
    if (value === undefined && OPTIONAL_SLOTS.has(name)) continue;
    if (typeof value !== 'string' || value.trim() === '') {
      throw new Error(`cannot personalise ${what}: slot ${name} left unfilled`);
    }
    if (SLOT_PATTERN.test(value)) {
      SLOT_PATTERN.lastIndex = 0;
      throw new Error(`cannot personalise ${what}: slot ${name} would be filled with another slot marker`);
    }
  }
}
