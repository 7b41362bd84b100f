/**
 * Bounces without a delivery-status part (qmail, Yahoo's qmail-style notices, Exim without DSN,
 * old Exchange, and the rest) are read with patterns: who failed, and the server's words about it.
 * Each dialect's layout is in a test fixture under tests/fixtures/bounces/.
 */

/** One failed recipient found in a bounce's text. */
export interface TextFailure {
  address: string | undefined;
  /** The lines about that recipient (the remote server's reply or the bouncer's explanation). */
  text: string;
}

/** What a non-standard bounce says. */
export interface TextBounce {
  dialect: 'qmail' | 'yahoo' | 'exim' | 'exchange' | 'text';
  failures: TextFailure[];
  /** The bouncer says it gave up for good ("This is a permanent error"). */
  permanent: boolean;
  /** The bouncer says it is still trying (a delay warning written as text). */
  delayed: boolean;
}

/** Where a returned copy starts in the text bounces we know; nothing after it is the bouncer's own words. */
const COPY_SEPARATORS = [
  /^--- Below this line is a copy of the message\.?/im, // qmail, Yahoo
  /^-+ This is a copy of the message, including all the headers\. -+/im, // Exim
  /^-+ The header of the original message is following\. -+/im, // Exim, headers only
  /^\s*-+\s*Original message\s*-+/im,
  /^-+ ?(Original|Returned) (message|mail) follows ?-+/im,
];

const ADDRESS = String.raw`[^\s<>()"@,;:]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}`;

/** The bouncer's own words: the text before the returned copy. */
export function ownWords(text: string): string {
  let end = text.length;
  for (const separator of COPY_SEPARATORS) {
    const m = separator.exec(text);
    if (m && m.index < end) end = m.index;
  }
  return text.slice(0, end);
}

/** qmail and Yahoo: `<address>:` on a line of its own, then the reason until a blank line. */
function qmailFailures(words: string): TextFailure[] {
  const failures: TextFailure[] = [];
  const pattern = new RegExp(String.raw`^<(${ADDRESS})>:[ \t]*\n([\s\S]*?)(?:\n[ \t]*\n|$)`, 'gm');
  for (const m of words.matchAll(pattern)) failures.push({ address: m[1]!.toLowerCase(), text: m[2]!.replace(/\s+/g, ' ').trim() });
  return failures;
}

/** Exim: after "The following address(es) failed:", an indented address and indented lines about it. */
function eximFailures(words: string): TextFailure[] {
  const start = /following address\(es\) failed:\s*\n/i.exec(words);
  if (!start) return [];
  const failures: TextFailure[] = [];
  let current: TextFailure | undefined;
  for (const line of words.slice(start.index + start[0].length).split('\n')) {
    const address = new RegExp(String.raw`^ {2}(?:<)?(${ADDRESS})(?:>)?\s*$`).exec(line);
    if (address) {
      failures.push((current = { address: address[1]!.toLowerCase(), text: '' }));
    } else if (current && /^ {3,}\S/.test(line)) {
      current.text = `${current.text} ${line.trim()}`.trim();
    } else if (line.trim() !== '' && !/^\s/.test(line)) {
      break;
    }
  }
  return failures;
}

/** Old Exchange (2000–2007): "could not be reached:", then `address on <date>` and the indented reason. */
function exchangeFailures(words: string): TextFailure[] {
  const start = /following recipient\(s\) could not be reached:\s*\n/i.exec(words);
  if (!start) return [];
  const failures: TextFailure[] = [];
  let current: TextFailure | undefined;
  for (const line of words.slice(start.index + start[0].length).split('\n')) {
    const address = new RegExp(String.raw`^\s+(?:'[^']*'\s+)?<?(${ADDRESS})>?\s+on\s+\S`).exec(line);
    if (address) failures.push((current = { address: address[1]!.toLowerCase(), text: '' }));
    else if (current && line.trim() !== '') current.text = `${current.text} ${line.trim()}`.trim();
  }
  return failures;
}

/** Reads a bounce that has no delivery-status part; `failedRecipients` is the X-Failed-Recipients header, if any. */
export function readTextBounce(text: string, failedRecipients: string[]): TextBounce {
  const words = ownWords(text);
  const permanent = /permanent (error|failure)|I've given up|giving up|could not be delivered|could not be reached|delivery has failed/i.test(words);
  const delayed = /has not yet been delivered|still being retried|will (continue|keep) (trying|to try)|delivery (is )?delayed|warning: message .* delayed/i.test(words);
  let dialect: TextBounce['dialect'] = 'text';
  let failures: TextFailure[] = [];
  if (/qmail-send program/i.test(words)) {
    dialect = 'qmail';
    failures = qmailFailures(words);
  } else if (/unable to deliver your message to the following address/i.test(words)) {
    dialect = 'yahoo';
    failures = qmailFailures(words);
  } else if (/following address\(es\) failed/i.test(words)) {
    dialect = 'exim';
    failures = eximFailures(words);
  } else if (/could not be reached/i.test(words)) {
    dialect = 'exchange';
    failures = exchangeFailures(words);
  } else {
    failures = qmailFailures(words);
  }
  if (failures.length === 0) {
    // Unknown layout: the addresses the bouncer names (X-Failed-Recipients), with all of its words.
    const body = words.replace(/\s+/g, ' ').trim();
    failures = failedRecipients.length > 0 ? failedRecipients.map((address) => ({ address, text: body })) : [{ address: undefined, text: body }];
  }
  return { dialect, failures, permanent: permanent || dialect === 'qmail' || dialect === 'yahoo', delayed };
}

/** What a failure is about, from the remote server's words when there is no usable status code. */
export type FailureKind = 'mailbox-unknown' | 'mailbox-full' | 'policy' | 'temporary' | 'unknown';

const MAILBOX_UNKNOWN = [
  /user (is )?unknown|unknown (user|recipient|mailbox|address)/i,
  /no such (user|mailbox|recipient|address|account|person)/i,
  /no mailbox here by that name/i,
  /mailbox (not found|unavailable|does not exist|doesn'?t exist|is disabled|has been disabled)/i,
  /(address|account|mailbox|recipient|user)( name)? (does not|doesn'?t|no longer) exists?/i,
  /doesn'?t have an? \S+ account/i, // Yahoo: "This user doesn't have a yahoo.com account"
  /invalid (recipient|mailbox|address|user)/i,
  /(recipient|user|address) not found|RecipientNotFound|not listed in (the )?(domino|public name & address book)/i,
  /account (that you tried to reach )?(is|has been) (disabled|deactivated|suspended)/i,
  /does not exist at the organization/i, // old Exchange
  /addressee unknown|unrouteable address|not a valid (mailbox|recipient|user)/i,
  /Recipient address rejected: Access denied/i, // Exchange Online directory-based edge blocking: not in the directory
];

const MAILBOX_FULL = [/mailbox (is )?full|over ?quota|quota exceeded|exceed(s|ed)? (the |its )?(storage|quota)|insufficient (system )?storage|out of storage|mailbox size limit/i];

const POLICY = [/\bspam\b|block ?list|black ?list|blocked|listed (at|on|in)|reputation|\bpolicy\b|\bdmarc\b|\bspf\b|\bdkim\b|content rejected|message rejected/i];

const TEMPORARY = [/retry timeout exceeded|temporar(il)?y|try again later|timed? ?out|too many (connections|messages)|rate limit|greylist/i];

/** What the remote server's words say about a failure. */
export function failureKindOf(text: string): FailureKind {
  if (MAILBOX_UNKNOWN.some((p) => p.test(text))) return 'mailbox-unknown';
  if (MAILBOX_FULL.some((p) => p.test(text))) return 'mailbox-full';
  if (POLICY.some((p) => p.test(text))) return 'policy';
  if (TEMPORARY.some((p) => p.test(text))) return 'temporary';
  return 'unknown';
}

/** The most specific RFC 3463 status the text quotes (`5.1.1`, `#5.1.1`), ignoring generic x.0.0 when a specific one is there. */
export function statusIn(text: string): string | undefined {
  const found = [...text.matchAll(/(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.]*\d)/g)].map((m) => `${m[1]}.${m[2]}.${m[3]}`);
  return found.find((s) => !s.endsWith('.0.0')) ?? found[0];
}

/** The SMTP reply code the text quotes (`550`, `554:`), if any. */
export function replyCodeIn(text: string): number | undefined {
  const m = /(?<!\d)([245]\d\d)(?=[\s:-])/.exec(text);
  return m ? Number(m[1]) : undefined;
}
