import { KIND_NAMES } from '../../editions/calendar.ts';
import { formatLocal } from '../../editions/time.ts';
import type { Kind } from '../../config.ts';
import { html, type SafeHtml } from '../html.ts';

/** An ISO instant as the wall clock of ALMANAC_TIMEZONE, e.g. `2026-11-29 08:00 GMT+1`. */
export function localTime(iso: string | Date, timezone: string): string {
  return formatLocal(typeof iso === 'string' ? new Date(iso) : iso, timezone);
}

/** `Sunday No. 48 · 2026-11-29`. */
export function editionTitle(slot: { kind: Kind; number: number; date: string }): string {
  return `${KIND_NAMES[slot.kind]} No. ${slot.number} · ${slot.date}`;
}

/** A state word in a coloured pill. */
export function statePill(state: string): SafeHtml {
  return html`<span class="state ${state.replace(/[^a-z-]/g, '')}">${state}</span>`;
}

/** A number with thin grouping (12 345). */
export function count(n: number): string {
  return n.toLocaleString('en-GB');
}

/** The edition-page link of an edition id. */
export function editionHref(id: string): string {
  return `/desk/editions/${encodeURIComponent(id)}`;
}

/** A table in a region that scrolls sideways on a narrow screen (focusable, so a keyboard can scroll it too). */
export function scrollTable(label: string, table: SafeHtml): SafeHtml {
  return html`<div class="scroll" tabindex="0" role="region" aria-label="${label}">${table}</div>`;
}
