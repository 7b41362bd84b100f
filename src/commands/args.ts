import { parseArgs, type ParseArgsConfig } from 'node:util';
import { KINDS, type Config, type Kind } from '../config.ts';
import { isDateString } from '../editions/time.ts';
import { LATEST, type EditionChoice } from '../editions/edition-for.ts';
import { UsageError } from './command.ts';

type Options = NonNullable<ParseArgsConfig['options']>;

/** parseArgs that reports unknown flags and missing values as a UsageError. */
export function parse<O extends Options>(args: string[], options: O) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message.split('\n')[0]!);
  }
}

/** The `--content DIR` option shared by every command that reads content. */
export const contentOption = { content: { type: 'string' } } as const;

/** The content directory: `--content` wins over ALMANAC_CONTENT_DIR. */
export function contentDir(values: { content?: string | boolean }, config: Config): string {
  return typeof values.content === 'string' ? values.content : config.contentDir;
}

/** Validates an edition kind argument. */
export function kindArg(value: string | undefined): Kind {
  if (!value) throw new UsageError('missing edition kind: midweek or sunday');
  if (!(KINDS as readonly string[]).includes(value)) {
    throw new UsageError(`unknown edition kind '${value}': expected midweek or sunday`);
  }
  return value as Kind;
}

/** Validates a `--date YYYY-MM-DD` argument. */
export function dateArg(value: string | boolean | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !isDateString(value)) {
    throw new UsageError(`--date: expected a date YYYY-MM-DD, found ${JSON.stringify(value)}`);
  }
  return value;
}

/** `--date D` and `--latest`, shared by compose, preview and send. */
export const editionOptions = { date: { type: 'string' }, latest: { type: 'boolean' } } as const;

/** Which edition `--date` / `--latest` mean (the next one when neither is given). */
export function editionArg(values: { date?: string | boolean; latest?: string | boolean }): EditionChoice {
  if (values.latest && values.date !== undefined) throw new UsageError('--date and --latest name an edition each: give one of them');
  return values.latest ? LATEST : dateArg(values.date);
}
