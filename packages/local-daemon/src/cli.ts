#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { AddressInUseError, LocalDaemon } from './daemon.js';
import { PACKAGE_ROOT } from './package-root.js';
import { InvalidRulesFileError } from './sampling-api.js';

const HELP = `xray-local: a local stand-in for the AWS X-Ray daemon, with a trace viewer.

  -a, --address <addr>    UDP/TCP address, "host:port" or "tcp:host:port udp:host:port"
                          (default: AWS_XRAY_DAEMON_ADDRESS, else 127.0.0.1:2000)
  -p, --viewer-port <n>   viewer port (default 2001)
      --viewer-host <h>   viewer host (default 127.0.0.1)
      --max-traces <n>    traces kept in memory (default 1000)
      --max-mb <n>        megabytes of documents kept in memory (default 64); the oldest traces go first
      --max-docs <n>      documents kept per trace (default 10000); the rest are counted as truncated
      --allow-host <name> a host name the viewer answers besides localhost and 127.0.0.1 (repeatable)
      --sampling-rules <path>
                          centralized sampling rules to serve: the output of
                          "aws xray get-sampling-rules" or an array of rules; re-read when
                          it changes (default: the Default rule, 1/s then 5 %)
  -f, --file <path>       also write traces to this file (JSON lines) and load it at start
  -v, --version           print the version
  -h, --help              print this help
`;

/** A mistake in the command line: one line on stderr, exit code 2, no stack. */
class UsageError extends Error {}

function whole(name: string, text: string | undefined, min: number, max: number): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) throw new UsageError(`--${name} must be a whole number from ${min} to ${max}, not "${text}"`);
  return Number(text);
}

async function main(argv: string[]): Promise<void> {
  let values: Record<string, string | boolean | string[] | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        address: { type: 'string', short: 'a' },
        'viewer-port': { type: 'string', short: 'p' },
        'viewer-host': { type: 'string' },
        'max-traces': { type: 'string' },
        'max-mb': { type: 'string' },
        'max-docs': { type: 'string' },
        'allow-host': { type: 'string', multiple: true },
        'sampling-rules': { type: 'string' },
        file: { type: 'string', short: 'f' },
        version: { type: 'boolean', short: 'v' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    throw new UsageError((e as Error).message.split('\n')[0].replace(/\. To specify a positional argument.*$/, ''));
  }
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  if (values.version) {
    const { version } = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string };
    process.stdout.write(`${version}\n`);
    return;
  }
  const viewerPort = whole('viewer-port', values['viewer-port'] as string | undefined, 0, 65535);
  const maxTraces = whole('max-traces', values['max-traces'] as string | undefined, 1, 10_000_000);
  const maxMb = whole('max-mb', values['max-mb'] as string | undefined, 1, 1_000_000);
  const maxDocumentsPerTrace = whole('max-docs', values['max-docs'] as string | undefined, 1, 10_000_000);
  let daemon: LocalDaemon;
  try {
    daemon = await LocalDaemon.start({
      address: values.address as string | undefined,
      viewerPort,
      viewerHost: values['viewer-host'] as string | undefined,
      maxTraces,
      maxBytes: maxMb === undefined ? undefined : maxMb * 1024 * 1024,
      maxDocumentsPerTrace,
      allowedHosts: values['allow-host'] as string[] | undefined,
      file: values.file as string | undefined,
      samplingRulesFile: values['sampling-rules'] as string | undefined,
    });
  } catch (e) {
    // A bad address or a port in use: the message says what to change.
    if (e instanceof AddressInUseError || e instanceof InvalidRulesFileError || /invalid daemon address/.test((e as Error).message)) throw new UsageError((e as Error).message);
    throw e;
  }
  process.stdout.write(`X-Ray local daemon: UDP ${daemon.udpAddress}, sampling API http://${daemon.tcpAddress}\nTrace viewer: ${daemon.viewerUrl}\n`);
  const stop = () => void daemon.stop().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main(process.argv.slice(2)).catch((e: unknown) => {
  if (e instanceof UsageError) {
    process.stderr.write(`xray-local: ${e.message} (xray-local --help lists the options)\n`);
    process.exit(2);
  }
  process.stderr.write(`xray-local: ${(e as Error)?.message ?? String(e)}\n`);
  process.exit(1);
});
