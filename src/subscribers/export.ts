import type { DeliveryRecord, Subscriber } from '../store/types.ts';

/** The shape of a subscriber export; src/store/export.ts writes it. */
export type ExportFormat = 'csv' | 'json';

/** One subscriber with everything we hold about them (GDPR access request). */
export interface SubscriberExport {
  id: number;
  email: string;
  name: string | null;
  status: Subscriber['status'];
  editions: string[];
  consent: Subscriber['consent'];
  softBounces: number;
  lastReply: string | null;
  /** The last lifted bounce or complaint suppression: when, by whom, what it was; null when none was. */
  suppressionLifted: Subscriber['suppressionLifted'];
  createdAt: string;
  updatedAt: string;
  deliveries: Omit<DeliveryRecord, 'subscriberId'>[];
  /** Personal click/open events (only recorded with ALMANAC_TRACKING_PERSONAL=true); absent when there are none. */
  engagement?: { editionId: string; type: 'click' | 'open'; url: string | null; class: 'human' | 'machine'; reason: string | null; at: string }[];
}

/** CSV columns of the export; the first three are the import header. */
export const EXPORT_COLUMNS = [
  'email',
  'name',
  'editions',
  'status',
  'consent_source',
  'consent_ip',
  'consent_wording',
  'requested_at',
  'confirmed_at',
  'created_at',
  'updated_at',
  'soft_bounces',
  'last_reply',
  'deliveries',
  'suppression_lifted_at',
  'suppression_lifted_by',
  'suppression_lifted_from',
] as const;
