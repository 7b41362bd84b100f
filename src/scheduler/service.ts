import type { Config } from '../config.ts';

export interface ServiceOptions {
  web: boolean;
  contentDir: string;
  port?: number;
}

/** Runs the scheduler (and the web server) until SIGINT/SIGTERM. Not wired to the sender yet. */
export async function runService(_config: Config, _options: ServiceOptions): Promise<number> {
  process.stderr.write('almanac: the scheduler service is not available yet\n');
  return 1;
}
