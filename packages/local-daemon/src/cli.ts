#!/usr/bin/env node
import { parseArgs } from 'node:util';

import { LocalDaemon } from './daemon.js';

const { values } = parseArgs({
  options: {
    address: { type: 'string', short: 'a' },
    'viewer-port': { type: 'string', short: 'p' },
    'viewer-host': { type: 'string' },
    'max-traces': { type: 'string' },
    file: { type: 'string', short: 'f' },
    help: { type: 'boolean', short: 'h' },
  },
});

if (values.help) {
  process.stdout.write(`xray-local: a local stand-in for the AWS X-Ray daemon, with a trace viewer.

  -a, --address <addr>    UDP/TCP address, "host:port" or "tcp:host:port udp:host:port"
                          (default: AWS_XRAY_DAEMON_ADDRESS, else 127.0.0.1:2000)
  -p, --viewer-port <n>   viewer port (default 2001)
      --viewer-host <h>   viewer host (default 127.0.0.1)
      --max-traces <n>    traces kept in memory (default 1000)
  -f, --file <path>       also write traces to this file (JSON lines) and load it at start
`);
  process.exit(0);
}

const daemon = await LocalDaemon.start({
  address: values.address,
  viewerPort: values['viewer-port'] !== undefined ? Number(values['viewer-port']) : undefined,
  viewerHost: values['viewer-host'],
  maxTraces: values['max-traces'] !== undefined ? Number(values['max-traces']) : undefined,
  file: values.file,
});
process.stdout.write(`X-Ray local daemon: UDP ${daemon.udpAddress}, sampling API http://${daemon.tcpAddress}\nTrace viewer: ${daemon.viewerUrl}\n`);
const stop = () => void daemon.stop().then(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
