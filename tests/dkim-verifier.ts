import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';

/**
 * An independent DKIM verifier for tests: Debian's python3-dkim (dkimpy), with a DNS function
 * that answers from the test keys instead of the network.
 */

/** Debian's interpreter (python3-dkim and python3-nacl are installed for it, not for pyenv's). */
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

const SCRIPT = `
import base64, json, sys
import dkim
job = json.load(sys.stdin)
records = {name.encode(): txt.encode() for name, txt in job["records"].items()}
def dnsfunc(name, timeout=5):
    return records.get(name.rstrip(b".").lower())
out = []
for item in job["messages"]:
    msg = base64.b64decode(item)
    d = dkim.DKIM(msg, minkey=1024)
    count = sum(1 for k, _ in dkim.rfc822_parse(msg)[0] if k.lower() == b"dkim-signature")
    results = []
    for i in range(count):
        try:
            results.append(bool(d.verify(idx=i, dnsfunc=dnsfunc)))
        except Exception as e:
            results.append("error: %s" % e)
    out.append(results)
json.dump(out, sys.stdout)
`;

/** A DKIM key pair for tests and the TXT record a receiver would find for it. */
export interface TestDkimKey {
  privatePem: string;
  publicKey: KeyObject;
  /** `v=DKIM1; k=rsa; p=…` or `v=DKIM1; k=ed25519; p=…` (RFC 8463: the raw 32-byte key). */
  record: string;
}

export function testDkimKey(type: 'rsa' | 'ed25519'): TestDkimKey {
  const { privateKey, publicKey } = type === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ed25519');
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const p = type === 'rsa' ? spki.toString('base64') : spki.subarray(spki.length - 32).toString('base64');
  return { privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), publicKey, record: `v=DKIM1; k=${type}; p=${p}` };
}

/**
 * Verifies every DKIM-Signature of each message with dkimpy; `records` maps
 * `<selector>._domainkey.<domain>` to its TXT record. Returns, per message, one entry per
 * signature (top to bottom): true, false, or the verifier's error.
 */
export function verifyWithDkimpy(messages: (string | Buffer)[], records: Record<string, string>): Promise<(boolean | string)[][]> {
  const job = JSON.stringify({
    records: Object.fromEntries(Object.entries(records).map(([k, v]) => [k.toLowerCase(), v])),
    messages: messages.map((m) => Buffer.from(m).toString('base64')),
  });
  return new Promise((resolve, reject) => {
    const child = execFile(PYTHON, ['-c', SCRIPT], { maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) return reject(new Error(`python3-dkim failed: ${stderr || error.message}`));
      resolve(JSON.parse(stdout) as (boolean | string)[][]);
    });
    child.stdin!.end(job);
  });
}

/** The tags of every DKIM-Signature header of a message, top to bottom (whitespace removed from values). */
export function dkimSignatures(raw: string): Record<string, string>[] {
  const headerBlock = raw.slice(0, raw.indexOf('\r\n\r\n') + 2);
  const out: Record<string, string>[] = [];
  for (const m of headerBlock.matchAll(/^DKIM-Signature:(.*(?:\r\n[ \t].*)*)/gim)) {
    const value = m[1]!.replace(/\r\n[ \t]/g, ' ');
    out.push(
      Object.fromEntries(
        value
          .split(';')
          .map((t) => t.trim())
          .filter(Boolean)
          .map((t) => [t.slice(0, t.indexOf('=')).trim(), t.slice(t.indexOf('=') + 1).replace(/\s+/g, '')]),
      ),
    );
  }
  return out;
}
