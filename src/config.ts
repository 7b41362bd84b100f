import { createPrivateKey } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { isIP } from 'node:net';
import { isValidTimeZone } from './editions/time.ts';
import { describeValue, registerSecret, registerSecretsOf } from './redact.ts';
import { parseTrustProxy, type TrustProxy } from './web/trust-proxy.ts';

/** The two edition kinds. */
export const KINDS = ['midweek', 'sunday'] as const;
export type Kind = (typeof KINDS)[number];

const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;

/** When an edition kind goes out: a weekday (0 = Sunday) and a local time. */
export interface SendTime {
  weekday: number;
  hour: number;
  minute: number;
}

export interface SmtpConfig {
  /** smtp://user:pass@host:587 or smtps://…; unset means the outbox. */
  url: string | undefined;
  /** @default 5 */
  maxConnections: number;
  /** Messages per second across the pool, 0 = unlimited. @default 0 */
  rateLimit: number;
  /** Attempts for a 4xx-deferred recipient within one run. @default 3 */
  retryAttempts: number;
  /** First retry delay; doubles each attempt. @default 30000 */
  retryBackoffMs: number;
  /** Consecutive soft bounces across editions before a subscriber is suppressed. @default 5 */
  softBounceLimit: number;
  /** Verify the relay's TLS certificate: 'auto' verifies unless the relay is on this machine's loopback. @default 'auto' */
  tlsVerify: 'auto' | 'true' | 'false';
}

export interface DkimConfig {
  domainName: string;
  keySelector: string;
  /** PEM text of an RSA private key (checked at load: it parses, it is RSA, at least 1024 bits). */
  privateKey: string;
  /** A second, Ed25519 signature (RFC 8463) beside the RSA one, with its own selector. @default undefined */
  ed25519?: { keySelector: string; privateKey: string };
}

/** Bounces and complaints that arrive after the relay accepted a copy (src/bounces/). */
export interface BounceConfig {
  /** ALMANAC_BOUNCE_ADDRESS: each copy's envelope sender becomes `local+<tag>@domain`; unset: ALMANAC_FROM's address. */
  address: string | undefined;
  /** ALMANAC_BOUNCE_SMTP_PORT: `npm start` also runs the bounce SMTP listener on this port. */
  smtpPort: number | undefined;
  /** Bind address of that listener (it is the bounce domain's MX). @default '0.0.0.0' */
  smtpHost: string;
  /** ALMANAC_BOUNCE_IMAP_URL: imap(s)://user:pass@host[:port]/MAILBOX read by `bounces fetch` (and polled by `npm start`). */
  imapUrl: string | undefined;
  /** How often `npm start` polls the IMAP mailbox. @default 5 min */
  imapPollMs: number;
  /** MAILGUN_WEBHOOK_SIGNING_KEY: HMAC key of POST /webhooks/mailgun; unset: that endpoint refuses every request. */
  mailgunSigningKey: string | undefined;
  /** POSTMARK_WEBHOOK_AUTH `user:pass`: basic auth of POST /webhooks/postmark; unset: that endpoint refuses every request. */
  postmarkAuth: string | undefined;
  /** SES_SNS_TOPIC_ARN: the SNS topic(s) POST /webhooks/ses accepts; unset: that endpoint refuses every request. */
  sesTopicArns: string[];
}

export interface Config {
  contentDir: string;
  /** ALMANAC_DB: a SQLite file path, or a postgres:// URL (see src/store/open.ts). */
  dbPath: string;
  /** PostgreSQL pool size per process (ALMANAC_DB_POOL). @default 10 */
  dbPoolSize: number;
  timezone: string;
  outboxDir: string;
  baseUrl: string;
  from: string;
  replyTo: string;
  postalAddress: string;
  secret: string | undefined;
  port: number;
  /** The web server's bind address (ALMANAC_HOST). @default '0.0.0.0' */
  host: string;
  /** Reverse proxies in front of the web server whose X-Forwarded-For is believed: a hop count or their addresses. @default { hops: 0 } */
  trustProxy: TrustProxy;
  /** Editions are numbered from this date (the first edition of each kind on or after it is No. 1). */
  firstEditionDate: string;
  schedule: Record<Kind, SendTime>;
  /** A missed edition is still sent this long after its instant. @default 6 h */
  catchUpGraceMs: number;
  smtp: SmtpConfig;
  dkim: DkimConfig | undefined;
  /** Domain used in Message-ID and List-Id. */
  mailDomain: string;
  bounce: BounceConfig;
  /** Opt-in engagement (ALMANAC_TRACKING, ALMANAC_TRACKING_PERSONAL); see src/tracking/. @default all off */
  tracking: TrackingConfig;
  /** Approval before the scheduler sends, and review copies to the editors (src/publish/review-copies.ts). */
  review: ReviewConfig;
}

/** ALMANAC_APPROVAL, ALMANAC_EDITORS, ALMANAC_REVIEW_LEAD_HOURS. */
export interface ReviewConfig {
  /** 'auto': an edition is frozen at its first copy and sent at its time; 'required': the scheduler sends only an approved edition. @default 'auto' */
  approval: 'auto' | 'required';
  /** Who gets a [REVIEW] copy of each upcoming edition (normalised addresses). @default [] */
  editors: string[];
  /** How long before its send time an edition's review copies go out. @default 24 h */
  leadMs: number;
}

/** What engagement is recorded: clicks on story and guide links, opens (a pixel), and whether per reader. */
export interface TrackingConfig {
  clicks: boolean;
  opens: boolean;
  /** Tokens carry the subscriber id (per-reader engagement); off: counts per edition and link only. */
  personal: boolean;
}

/** A configuration value that cannot be used; the message is one line for the operator. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Env = Record<string, string | undefined>;

const timeOfWeek = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^(sun|mon|tue|wed|thu|fri|sat)[a-z]*\s+([01]?\d|2[0-3]):([0-5]\d)$/);

function parseSendTime(value: string): SendTime {
  const m = /^(\w{3})\w*\s+(\d{1,2}):(\d{2})$/.exec(value)!;
  return { weekday: DAYS.indexOf(m[1] as (typeof DAYS)[number]), hour: Number(m[2]), minute: Number(m[3]) };
}

const positiveInt = z.coerce.number().int().min(1);
const nonNegative = z.coerce.number().min(0);

/**
 * Each variable: its schema and what the operator is told it should be. A variable whose name says
 * SECRET, PRIVATE_KEY, SIGNING_KEY, PASSWORD, TOKEN or _AUTH is a secret (src/redact.ts): its value is
 * never echoed and is masked in everything printed; a URL's password is masked in any variable.
 */
const VARIABLES = {
  ALMANAC_CONTENT_DIR: { schema: z.string().min(1), expected: 'a directory path', default: './content' },
  ALMANAC_DB: {
    // A postgres:// or postgresql:// URL selects PostgreSQL; any other URL scheme is refused (it
    // would otherwise become a directory named after it); everything else is a SQLite file path.
    schema: z
      .string()
      .min(1)
      .refine((v) => !/^[a-z][a-z0-9+.-]*:\/\//i.test(v) || (/^postgres(ql)?:\/\//i.test(v) && URL.canParse(v))),
    expected: 'a SQLite file path or a postgres://user:pass@host:5432/db URL',
    default: './data/almanac.db',
  },
  ALMANAC_DB_POOL: { schema: positiveInt.max(1000), expected: 'PostgreSQL connections per process, an integer 1–1000', default: '10' },
  ALMANAC_TIMEZONE: {
    schema: z.string().refine(isValidTimeZone),
    expected: 'an IANA time zone such as Europe/Paris or UTC',
    default: 'UTC',
  },
  SMTP_URL: {
    schema: z.string().regex(/^smtps?:\/\/[^\s/]+(:\d+)?\/?$/).refine((v) => URL.canParse(v)),
    expected: 'smtp://[user:pass@]host[:port] or smtps://… (percent-encode / : @ # ? % in the user and password, e.g. / as %2F)',
    default: undefined,
  },
  ALMANAC_OUTBOX: { schema: z.string().min(1), expected: 'a directory path', default: './outbox' },
  ALMANAC_BASE_URL: {
    schema: z.url({ protocol: /^https?$/ }),
    expected: 'an absolute http(s) URL such as https://almanac.example',
    default: 'http://localhost:3000',
  },
  ALMANAC_FROM: { schema: z.string().min(3), expected: 'an address such as "Almanac <news@almanac.example>"', default: 'Call Me Almanac <newsletter@almanac.example>' },
  ALMANAC_REPLY_TO: { schema: z.string().min(3), expected: 'an email address', default: undefined },
  ALMANAC_POSTAL_ADDRESS: {
    schema: z.string().min(1),
    expected: 'a postal address (CAN-SPAM)',
    default: 'Call Me Almanac, 1 Example Street, Springfield 00000',
  },
  ALMANAC_SECRET: { schema: z.string().min(16), expected: 'at least 16 characters', default: undefined },
  PORT: { schema: z.coerce.number().int().min(0).max(65535), expected: 'a TCP port 0–65535', default: '3000' },
  ALMANAC_HOST: {
    schema: z.string().trim().refine((v) => isIP(v) !== 0 || /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i.test(v)),
    expected: 'an address to listen on, such as 127.0.0.1, 0.0.0.0 or ::',
    default: '0.0.0.0',
  },
  ALMANAC_TRUST_PROXY: {
    schema: z.string().transform((v, ctx) => {
      try {
        return parseTrustProxy(v);
      } catch {
        ctx.addIssue({ code: 'custom', message: 'bad ALMANAC_TRUST_PROXY' });
        return z.NEVER;
      }
    }),
    expected: 'the reverse proxies in front of the web server: their addresses or CIDR ranges, comma-separated (e.g. 127.0.0.1,::1), or their number 0–10',
    default: '0',
  },
  ALMANAC_FIRST_EDITION: {
    schema: z.iso.date(),
    expected: 'a date YYYY-MM-DD',
    default: '2026-01-01',
  },
  ALMANAC_MIDWEEK_AT: { schema: timeOfWeek, expected: 'a weekday and local time such as "wed 07:00"', default: 'wed 07:00' },
  ALMANAC_SUNDAY_AT: { schema: timeOfWeek, expected: 'a weekday and local time such as "sun 08:00"', default: 'sun 08:00' },
  ALMANAC_CATCHUP_GRACE_HOURS: { schema: nonNegative, expected: 'a number of hours ≥ 0', default: '6' },
  SMTP_MAX_CONNECTIONS: { schema: positiveInt.max(100), expected: 'an integer 1–100', default: '5' },
  SMTP_TLS_VERIFY: {
    schema: z.enum(['auto', 'true', 'false']),
    expected: 'auto (verify unless the relay is on loopback), true or false',
    default: 'auto',
  },
  SMTP_RATE_LIMIT: { schema: nonNegative, expected: 'messages per second ≥ 0 (0 = unlimited)', default: '0' },
  SMTP_RETRY_ATTEMPTS: { schema: positiveInt.max(20), expected: 'an integer 1–20', default: '3' },
  SMTP_RETRY_BACKOFF_MS: { schema: nonNegative, expected: 'milliseconds ≥ 0', default: '30000' },
  ALMANAC_SOFT_BOUNCE_LIMIT: { schema: positiveInt, expected: 'an integer ≥ 1', default: '5' },
  DKIM_DOMAIN: { schema: z.string().regex(/^[a-z0-9.-]+\.[a-z]{2,}$/i), expected: 'a domain name', default: undefined },
  DKIM_SELECTOR: { schema: z.string().regex(/^[a-z0-9._-]+$/i), expected: 'a DNS label', default: undefined },
  DKIM_PRIVATE_KEY: {
    schema: z.string().min(1),
    expected: 'a PEM private key, or a path to one',
    default: undefined,
  },
  ALMANAC_TRACKING: {
    schema: z.enum(['off', 'clicks', 'clicks,opens']),
    expected: 'off, clicks or clicks,opens',
    default: 'off',
  },
  ALMANAC_TRACKING_PERSONAL: { schema: z.enum(['true', 'false']), expected: 'true or false', default: 'false' },
  ALMANAC_APPROVAL: { schema: z.enum(['auto', 'required']), expected: 'auto (frozen and sent at its time) or required (the scheduler sends only an approved edition)', default: 'auto' },
  ALMANAC_EDITORS: {
    schema: z
      .string()
      .transform((v) => v.split(/[\s,]+/).map((a) => a.trim().toLowerCase()).filter(Boolean))
      .pipe(z.array(z.email()).min(1)),
    expected: 'email addresses separated by commas or spaces, such as ada@almanac.example, grace@almanac.example',
    default: undefined,
  },
  ALMANAC_REVIEW_LEAD_HOURS: { schema: nonNegative.max(24 * 14), expected: 'a number of hours from 0 to 336', default: '24' },
  DKIM_ED25519_SELECTOR: { schema: z.string().regex(/^[a-z0-9._-]+$/i), expected: 'a DNS label', default: undefined },
  DKIM_ED25519_PRIVATE_KEY: {
    schema: z.string().min(1),
    expected: 'a PEM Ed25519 private key, or a path to one',
    default: undefined,
  },
  ALMANAC_BOUNCE_ADDRESS: {
    schema: z.string().trim().toLowerCase().regex(/^[a-z0-9._-]+@[a-z0-9.-]+\.[a-z]{2,}$/),
    expected: 'a bare address without "+", such as bounces@bounces.almanac.example',
    default: undefined,
  },
  ALMANAC_BOUNCE_SMTP_PORT: { schema: z.coerce.number().int().min(0).max(65535), expected: 'a TCP port 0–65535', default: undefined },
  ALMANAC_BOUNCE_SMTP_HOST: { schema: z.string().regex(/^[0-9a-fA-F.:]+$|^[a-z0-9.-]+$/i), expected: 'a bind address such as 0.0.0.0 or 127.0.0.1', default: '0.0.0.0' },
  ALMANAC_BOUNCE_IMAP_URL: {
    schema: z.string().regex(/^imaps?:\/\/[^\s/]+(:\d+)?(\/[^\s]*)?$/).refine((v) => URL.canParse(v)),
    expected: 'imaps://user:pass@host[:port]/MAILBOX or imap://…',
    default: undefined,
  },
  ALMANAC_BOUNCE_IMAP_POLL_MINUTES: { schema: z.coerce.number().min(0.1).max(1440), expected: 'minutes between IMAP checks, 0.1–1440', default: '5' },
  MAILGUN_WEBHOOK_SIGNING_KEY: { schema: z.string().min(8), expected: 'the HTTP webhook signing key from Mailgun', default: undefined },
  POSTMARK_WEBHOOK_AUTH: { schema: z.string().regex(/^[^:\s]+:\S+$/), expected: 'user:pass (the basic auth set on the Postmark webhook)', default: undefined },
  SES_SNS_TOPIC_ARN: {
    schema: z.string().regex(/^arn:aws:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]+(\s*,\s*arn:aws:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]+)*$/),
    expected: 'the ARN of the SNS topic SES publishes to (several separated by commas)',
    default: undefined,
  },
} as const;

export type VariableName = keyof typeof VARIABLES;

/** Every variable with its default and what it expects, for docs and `.env.example`. */
export const VARIABLE_DOCS = Object.entries(VARIABLES).map(([name, v]) => ({
  name,
  default: v.default,
  expected: v.expected,
}));

function read(env: Env, name: VariableName): unknown {
  const spec = VARIABLES[name];
  const raw = env[name];
  const value = raw === undefined || raw === '' ? spec.default : raw;
  if (value === undefined) return undefined;
  // Before validation, so that even a rejected value is masked wherever it is printed later.
  registerSecretsOf(name, value);
  const parsed = (spec.schema as z.ZodType).safeParse(value);
  if (!parsed.success) {
    // Never echo a secret: a secret variable is described by its length, a URL without its password.
    throw new ConfigError(`${name}: expected ${spec.expected}, found ${describeValue(name, raw ?? value)}`);
  }
  return parsed.data;
}

function str(env: Env, name: VariableName): string {
  return read(env, name) as string;
}

function addressDomain(address: string): string {
  const m = /@([^>\s]+)>?\s*$/.exec(address);
  return m?.[1]?.toLowerCase() ?? 'almanac.example';
}

/** Turns an environment into a typed, validated config; throws ConfigError naming the first bad variable. */
export function loadConfig(env: Env = process.env): Config {
  const dkim = loadDkim(env);
  const from = str(env, 'ALMANAC_FROM');
  return {
    contentDir: str(env, 'ALMANAC_CONTENT_DIR'),
    dbPath: str(env, 'ALMANAC_DB'),
    dbPoolSize: read(env, 'ALMANAC_DB_POOL') as number,
    timezone: str(env, 'ALMANAC_TIMEZONE'),
    outboxDir: str(env, 'ALMANAC_OUTBOX'),
    baseUrl: str(env, 'ALMANAC_BASE_URL').replace(/\/+$/, ''),
    from,
    replyTo: (read(env, 'ALMANAC_REPLY_TO') as string | undefined) ?? from,
    postalAddress: str(env, 'ALMANAC_POSTAL_ADDRESS'),
    secret: read(env, 'ALMANAC_SECRET') as string | undefined,
    port: read(env, 'PORT') as number,
    host: str(env, 'ALMANAC_HOST'),
    trustProxy: read(env, 'ALMANAC_TRUST_PROXY') as TrustProxy,
    firstEditionDate: str(env, 'ALMANAC_FIRST_EDITION'),
    schedule: {
      midweek: parseSendTime(str(env, 'ALMANAC_MIDWEEK_AT')),
      sunday: parseSendTime(str(env, 'ALMANAC_SUNDAY_AT')),
    },
    catchUpGraceMs: (read(env, 'ALMANAC_CATCHUP_GRACE_HOURS') as number) * 3_600_000,
    smtp: {
      url: read(env, 'SMTP_URL') as string | undefined,
      maxConnections: read(env, 'SMTP_MAX_CONNECTIONS') as number,
      rateLimit: read(env, 'SMTP_RATE_LIMIT') as number,
      retryAttempts: read(env, 'SMTP_RETRY_ATTEMPTS') as number,
      retryBackoffMs: read(env, 'SMTP_RETRY_BACKOFF_MS') as number,
      softBounceLimit: read(env, 'ALMANAC_SOFT_BOUNCE_LIMIT') as number,
      tlsVerify: read(env, 'SMTP_TLS_VERIFY') as 'auto' | 'true' | 'false',
    },
    dkim,
    mailDomain: addressDomain(from),
    bounce: {
      address: read(env, 'ALMANAC_BOUNCE_ADDRESS') as string | undefined,
      smtpPort: read(env, 'ALMANAC_BOUNCE_SMTP_PORT') as number | undefined,
      smtpHost: str(env, 'ALMANAC_BOUNCE_SMTP_HOST'),
      imapUrl: read(env, 'ALMANAC_BOUNCE_IMAP_URL') as string | undefined,
      imapPollMs: (read(env, 'ALMANAC_BOUNCE_IMAP_POLL_MINUTES') as number) * 60_000,
      mailgunSigningKey: read(env, 'MAILGUN_WEBHOOK_SIGNING_KEY') as string | undefined,
      postmarkAuth: read(env, 'POSTMARK_WEBHOOK_AUTH') as string | undefined,
      sesTopicArns: ((read(env, 'SES_SNS_TOPIC_ARN') as string | undefined) ?? '').split(',').map((a) => a.trim()).filter(Boolean),
    },
    tracking: trackingConfig(env),
    review: {
      approval: read(env, 'ALMANAC_APPROVAL') as 'auto' | 'required',
      editors: (read(env, 'ALMANAC_EDITORS') as string[] | undefined) ?? [],
      leadMs: (read(env, 'ALMANAC_REVIEW_LEAD_HOURS') as number) * 3_600_000,
    },
  };
}

/** ALMANAC_TRACKING and ALMANAC_TRACKING_PERSONAL; the pixel needs an https base URL (clients and the pre-send checks refuse http images). */
function trackingConfig(env: Env): TrackingConfig {
  const mode = str(env, 'ALMANAC_TRACKING');
  const tracking = { clicks: mode !== 'off', opens: mode === 'clicks,opens', personal: str(env, 'ALMANAC_TRACKING_PERSONAL') === 'true' };
  if (tracking.opens && !/^https:\/\//i.test(str(env, 'ALMANAC_BASE_URL'))) {
    throw new ConfigError(`ALMANAC_TRACKING: expected off or clicks with an http ALMANAC_BASE_URL (the open pixel must be an https image), found ${mode}`);
  }
  return tracking;
}

/**
 * DKIM_DOMAIN, DKIM_SELECTOR and DKIM_PRIVATE_KEY (all or none), plus the optional Ed25519 pair
 * (DKIM_ED25519_SELECTOR and DKIM_ED25519_PRIVATE_KEY, both or neither, only beside the RSA key).
 * Each key is parsed here, so a malformed one stops the program at start instead of an edition
 * going out unsigned. Error messages never contain a key.
 */
function loadDkim(env: Env): DkimConfig | undefined {
  const values = {
    DKIM_DOMAIN: read(env, 'DKIM_DOMAIN') as string | undefined,
    DKIM_SELECTOR: read(env, 'DKIM_SELECTOR') as string | undefined,
    DKIM_PRIVATE_KEY: read(env, 'DKIM_PRIVATE_KEY') as string | undefined,
  };
  const ed = {
    DKIM_ED25519_SELECTOR: read(env, 'DKIM_ED25519_SELECTOR') as string | undefined,
    DKIM_ED25519_PRIVATE_KEY: read(env, 'DKIM_ED25519_PRIVATE_KEY') as string | undefined,
  };
  const missing = (group: Record<string, string | undefined>) => Object.keys(group).filter((k) => group[k] === undefined);
  const rsaMissing = missing(values);
  const edMissing = missing(ed);
  if (rsaMissing.length > 0 && rsaMissing.length < 3) {
    throw new ConfigError(`DKIM_DOMAIN, DKIM_SELECTOR, DKIM_PRIVATE_KEY: expected all three or none, found only some (${rsaMissing.join(' and ')} not set)`);
  }
  if (edMissing.length === 1) {
    throw new ConfigError(`DKIM_ED25519_SELECTOR, DKIM_ED25519_PRIVATE_KEY: expected both or neither, found only one (${edMissing[0]} not set)`);
  }
  if (edMissing.length === 0 && rsaMissing.length === 3) {
    throw new ConfigError(
      'DKIM_ED25519_PRIVATE_KEY: expected beside an RSA key (receivers that do not know Ed25519 need one), found DKIM_DOMAIN, DKIM_SELECTOR and DKIM_PRIVATE_KEY not set',
    );
  }
  if (rsaMissing.length === 3) return undefined;
  return {
    domainName: values.DKIM_DOMAIN!,
    keySelector: values.DKIM_SELECTOR!,
    privateKey: privateKeyPem('DKIM_PRIVATE_KEY', values.DKIM_PRIVATE_KEY!, 'rsa'),
    ...(ed.DKIM_ED25519_PRIVATE_KEY
      ? { ed25519: { keySelector: ed.DKIM_ED25519_SELECTOR!, privateKey: privateKeyPem('DKIM_ED25519_PRIVATE_KEY', ed.DKIM_ED25519_PRIVATE_KEY, 'ed25519') } }
      : {}),
  };
}

/** A file name worth repeating in an error (a key pasted in the wrong place is never echoed). */
const KEY_FILE_NAME = /^[\w./~-]{1,200}\.(pem|key|txt)$/i;

/** The PEM text of a private key given as PEM text or a file path, checked to parse as `type`. */
function privateKeyPem(name: VariableName, value: string, type: 'rsa' | 'ed25519'): string {
  const expected = type === 'rsa' ? 'an RSA private key (PEM text, or a path to a PEM file)' : 'an Ed25519 private key (PEM text, or a path to a PEM file)';
  let pem = value;
  if (!value.includes('PRIVATE KEY')) {
    const full = resolve(value);
    const shown = KEY_FILE_NAME.test(value) ? `the path ${JSON.stringify(value)}` : 'a value that is not shown';
    if (!existsSync(full)) throw new ConfigError(`${name}: expected ${expected}, found ${shown} (neither PEM text nor an existing file)`);
    try {
      pem = readFileSync(full, 'utf8');
    } catch (error) {
      throw new ConfigError(`${name}: expected ${expected}, found ${shown}, which cannot be read (${(error as NodeJS.ErrnoException).code})`);
    }
  }
  let key;
  try {
    key = createPrivateKey(pem);
  } catch {
    // The crypto error is not passed on: some quote the input.
    throw new ConfigError(`${name}: expected ${expected}, found text that does not parse as a private key (the key is not shown)`);
  }
  if (key.asymmetricKeyType !== type) {
    throw new ConfigError(`${name}: expected ${expected}, found a private key of type ${key.asymmetricKeyType ?? 'unknown'}`);
  }
  const bits = key.asymmetricKeyDetails?.modulusLength;
  if (type === 'rsa' && bits !== undefined && bits < 1024) {
    throw new ConfigError(`${name}: expected ${expected} of at least 1024 bits (2048 recommended), found ${bits} bits`);
  }
  registerSecret(pem);
  return pem;
}

/**
 * The clock commands use to pick "the next" or "the latest" edition (compose, preview, send,
 * schedule --next). `ALMANAC_NOW` is a TEST HOOK, not a setting: an ISO 8601 instant the clock starts
 * from and then runs on, so that tests of these commands give the same answer on any day. Unset (as
 * it always is in use): the real clock.
 */
export function commandClock(env: Env = process.env): () => Date {
  const raw = env.ALMANAC_NOW;
  if (raw === undefined || raw === '') return () => new Date();
  const start = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(raw) ? Date.parse(raw) : Number.NaN;
  if (Number.isNaN(start)) throw new ConfigError(`ALMANAC_NOW (a test hook): expected an ISO 8601 instant such as 2026-11-25T09:00:00Z, found ${JSON.stringify(raw)}`);
  const offset = start - Date.now();
  return () => new Date(Date.now() + offset);
}

/** Loads `.env` (when present) into process.env without overriding what is already set. */
export function loadDotEnv(path = '.env'): void {
  if (existsSync(path)) process.loadEnvFile(path);
}
