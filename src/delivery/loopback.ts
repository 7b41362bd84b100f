/**
 * True when `host` is this machine's loopback: `localhost`, `::1` or an IPv4 address in 127.0.0.0/8
 * written as one (brackets allowed). A name that merely starts with `127.` is not: it is resolved by
 * DNS and can point anywhere. Servers there may speak in clear and go without certificate checks.
 */
export function isLoopback(host: string): boolean {
  const name = host.toLowerCase().replace(/^\[|\]$/g, '');
  return name === 'localhost' || name === '::1' || /^127(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/.test(name);
}
