import type { TrackingConfig } from '../config.ts';

/** What the site promises readers about tracking, true to ALMANAC_TRACKING and ALMANAC_TRACKING_PERSONAL. */
export function trackingNote(tracking: TrackingConfig): string {
  const per = tracking.personal ? 'per reader' : 'per edition, not per reader';
  if (tracking.opens) return `Opens (an estimate) and clicks on story links are counted, ${per}`;
  if (tracking.clicks) return `No tracking pixels; clicks on story links are counted, ${per}`;
  return 'No tracking pixels';
}
