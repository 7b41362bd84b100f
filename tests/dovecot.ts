import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { freePort, tempDir } from './helpers.ts';
import { DOVECOT_BIN } from './services.ts';

/** A throwaway Dovecot IMAP server on loopback (Debian's dovecot-imapd; .ci/run installs it). */
export interface TestImapServer {
  port: number;
  user: string;
  pass: string;
  url: string;
  /** Dovecot's log file (logins, and each session's bytes: `Logged out in=… out=…`). */
  log: string;
  /** Stops Dovecot and waits until it is gone. */
  stop(): Promise<void>;
}

const DOVECOT = DOVECOT_BIN;

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Options of the test Dovecot. */
export interface DovecotOptions {
  /** PEM files of a certificate and its key: STARTTLS is offered with them. Default: no TLS at all. */
  tls?: { cert: string; key: string };
}

/**
 * Starts Dovecot with a config of its own in a temp dir: IMAP only on 127.0.0.1 (plaintext, or
 * STARTTLS with `options.tls`), one user from a passwd-file, maildir under the temp dir (owned by
 * nobody when the tests run as root).
 */
export async function startDovecot(options: DovecotOptions = {}): Promise<TestImapServer> {
  if (!existsSync(DOVECOT)) throw new Error(`${DOVECOT} not found: install Debian's dovecot-imapd (apt-get install dovecot-imapd), as .ci/run does`);
  const dir = tempDir('almanac-dovecot-');
  chmodSync(dir, 0o755); // Dovecot's unprivileged login processes must reach base_dir
  mkdirSync(join(dir, 'mail'));
  const port = await freePort();
  const user = 'bounces';
  const pass = 'imap-test-password';
  // Dovecot never runs a mail process as root: as root, the mail belongs to nobody (65534).
  const uid = process.getuid?.() || 65534;
  const gid = process.getgid?.() || 65534;
  chownSync(join(dir, 'mail'), uid, gid);
  writeFileSync(join(dir, 'passwd'), `${user}:{PLAIN}${pass}\n`);
  writeFileSync(
    join(dir, 'dovecot.conf'),
    `base_dir = ${dir}/run
state_dir = ${dir}/state
log_path = ${dir}/log
protocols = imap
listen = 127.0.0.1
${options.tls ? `ssl = yes\nssl_cert = <${options.tls.cert}\nssl_key = <${options.tls.key}` : 'ssl = no'}
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:${dir}/mail/%u
first_valid_uid = 0
first_valid_gid = 0
passdb {
  driver = passwd-file
  args = ${dir}/passwd
}
userdb {
  driver = static
  args = uid=${uid} gid=${gid} home=${dir}/mail/%u
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = ${port}
  }
  inet_listener imaps {
    port = 0
  }
}
service pop3-login {
  inet_listener pop3 {
    port = 0
  }
}
service submission-login {
  inet_listener submission {
    port = 0
  }
}
`,
  );
  // Dovecot forks into the background: its output must not be a pipe this call waits on.
  execFileSync(DOVECOT, ['-c', join(dir, 'dovecot.conf')], { stdio: 'ignore' });
  // The daemon writes its pid and opens the port a moment after the command returns.
  const pidFile = join(dir, 'run', 'master.pid');
  for (let i = 0; i < 100 && !existsSync(pidFile); i++) await new Promise((r) => setTimeout(r, 50));
  if (!existsSync(pidFile)) throw new Error(`Dovecot did not start; see ${dir}/log`);
  const pid = Number(readFileSync(pidFile, 'utf8'));
  for (let i = 0; i < 100 && !(await accepts(port)); i++) await new Promise((r) => setTimeout(r, 50));
  return {
    port,
    user,
    pass,
    url: `imap://${user}:${pass}@127.0.0.1:${port}/INBOX`,
    log: join(dir, 'log'),
    async stop() {
      const alive = () => {
        try {
          process.kill(pid, 0);
          return true;
        } catch {
          return false;
        }
      };
      if (alive()) process.kill(pid, 'SIGTERM');
      for (let i = 0; i < 100 && alive(); i++) await new Promise((r) => setTimeout(r, 50));
      if (alive()) process.kill(pid, 'SIGKILL');
    },
  };
}
