import { writeFileSync } from 'node:fs';
import type { Config } from '../config.ts';
import { openStore } from '../store/open.ts';
import { reportHtml, type DeliverySummary } from './report-html.ts';
import { deliveryTimeline, engagementReport, formatEngagement, type EngagementReport } from './report.ts';

/** The engagement part of `report <id>`: text, the `engagement` key of `--json`, and the `--html FILE` page. */
export interface EngagementPart {
  engagement: EngagementReport;
  /** Text lines after the ledger's report. */
  text: string;
  /** Writes the self-contained HTML page (delivery timeline + clicks chart) to `file`. */
  writeHtml(file: string, delivery: DeliverySummary): void;
}

/** Reads an edition's engagement and delivery timeline through the store (SQLite or PostgreSQL). */
export async function engagementPart(config: Pick<Config, 'dbPath' | 'dbPoolSize'>, editionId: string): Promise<EngagementPart> {
  const store = await openStore(config.dbPath, { poolSize: Math.min(config.dbPoolSize, 2) });
  try {
    const [engagement, timeline] = await Promise.all([engagementReport(store, editionId), deliveryTimeline(store, editionId)]);
    return {
      engagement,
      text: engagement.tracked ? formatEngagement(engagement) : '', // untracked editions: the report reads as before
      writeHtml(file, delivery) {
        try {
          writeFileSync(file, reportHtml(delivery, engagement, timeline));
        } catch (error) {
          throw new Error(`cannot write the report page ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { cause: error });
        }
      },
    };
  } finally {
    await store.close();
  }
}
