import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';

/** One endpoint of the daemon. */
export interface DaemonEndpoint {
  readonly host: string;
  readonly port: number;
}

/** Where segments (UDP) and sampling API calls (TCP) go. */
export interface DaemonAddress {
  readonly udp: DaemonEndpoint;
  readonly tcp: DaemonEndpoint;
}

/** The daemon's default address, UDP and TCP alike. */
export const DEFAULT_DAEMON_ADDRESS = '127.0.0.1:2000';

const HOSTNAME_RE = /^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62})(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62}))*\.?$/;

function parseEndpoint(text: string, allowPortZero: boolean): DaemonEndpoint | string {
  const colon = text.lastIndexOf(':');
  if (colon === -1) return `"${text}" has no port (expected host:port)`;
  let host = text.slice(0, colon);
  const portText = text.slice(colon + 1);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  if (!host) return `"${text}" has no host (expected host:port)`;
  const lowest = allowPortZero ? 0 : 1;
  if (!/^\d{1,5}$/.test(portText) || Number(portText) < lowest || Number(portText) > 65535) {
    return `"${text}" has an invalid port (expected ${lowest}-65535)`;
  }
  if (isIP(host) === 0 && !HOSTNAME_RE.test(host)) return `"${text}" has an invalid host`;
  return { host, port: Number(portText) };
}

/**
 * Parses `host:port` (UDP and TCP alike) or `tcp:host:port udp:host:port` (either order, one space).
 * IPv6 hosts are written in brackets (`[::1]:2000`). Throws an `Error` that says what is wrong.
 * Host names are checked for form only; {@link resolveDaemonAddress} resolves them. With
 * `allowPortZero` a port of 0 is accepted (a listener that takes any free port, as `xray-local` in tests).
 */
export function parseDaemonAddress(text: string, options: { allowPortZero?: boolean } = {}): DaemonAddress {
  const allowPortZero = options.allowPortZero === true;
  const value = typeof text === 'string' ? text.trim() : '';
  const parts = value.split(' ');
  const fail = (why: string): never => {
    throw new Error(
      `invalid daemon address "${String(text)}": ${why}. Use "host:port" or "tcp:host:port udp:host:port".`,
    );
  };
  if (!value) fail('it is empty');
  if (parts.length === 1) {
    if (/^(tcp|udp):/.test(value)) fail('both a tcp: and a udp: part are needed when one is given');
    const ep = parseEndpoint(value, allowPortZero);
    if (typeof ep === 'string') fail(ep);
    return { udp: ep as DaemonEndpoint, tcp: ep as DaemonEndpoint };
  }
  if (parts.length !== 2) fail('expected one address or two separated by one space');
  const found: { udp?: DaemonEndpoint; tcp?: DaemonEndpoint } = {};
  for (const part of parts) {
    const m = /^(tcp|udp):(.*)$/.exec(part);
    if (!m) return fail(`"${part}" must start with tcp: or udp:`);
    const kind = m[1] as 'tcp' | 'udp';
    if (found[kind]) fail(`two ${kind}: parts`);
    const ep = parseEndpoint(m[2], allowPortZero);
    if (typeof ep === 'string') fail(ep);
    found[kind] = ep as DaemonEndpoint;
  }
  if (!found.udp || !found.tcp) return fail('both a tcp: and a udp: part are needed');
  return { udp: found.udp, tcp: found.tcp };
}

/** Host names are looked up with this time limit, so a start-up never hangs on DNS. */
const LOOKUP_TIMEOUT_MS = 3000;

/** Resolves one host to an IP address (IPv4 first); IP literals are returned as they are. */
export async function resolveHost(host: string): Promise<{ address: string; family: 4 | 6 }> {
  const family = isIP(host);
  if (family !== 0) return { address: host, family: family as 4 | 6 };
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`looking up "${host}" took longer than ${LOOKUP_TIMEOUT_MS} ms`)), LOOKUP_TIMEOUT_MS);
    timer.unref();
  });
  try {
    const result = await Promise.race([lookup(host, { verbatim: false }), timeout]);
    return { address: result.address, family: result.family === 6 ? 6 : 4 };
  } catch (e) {
    throw new Error(`cannot resolve daemon host "${host}": ${(e as Error).message}`);
  } finally {
    clearTimeout(timer);
  }
}

/** Parses and resolves a daemon address; host names become IP addresses. */
export async function resolveDaemonAddress(text: string): Promise<DaemonAddress> {
  const parsed = parseDaemonAddress(text);
  const [udp, tcp] = await Promise.all([resolveHost(parsed.udp.host), resolveHost(parsed.tcp.host)]);
  return {
    udp: { host: udp.address, port: parsed.udp.port },
    tcp: { host: tcp.address, port: parsed.tcp.port },
  };
}
