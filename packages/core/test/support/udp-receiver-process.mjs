// A stand-in for an X-Ray daemon in another process: a UDP socket with the system's default receive
// buffer (nothing enlarges it) that splits the header line, parses and schema-validates each
// document, as the daemon and xray-local do. It prints its port, then, on "report" from stdin, what
// it received as one JSON line (with the kernel's drop count for the socket, from /proc/net/udp);
// "reset" forgets what it received.
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

import AjvDraft04Module from 'ajv-draft-04';

const Ajv = AjvDraft04Module.default ?? AjvDraft04Module;
const schema = JSON.parse(readFileSync(new URL('../../../local-daemon/schema/xray-segment-document.schema.json', import.meta.url), 'utf8'));
const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);

let received = 0;
let invalid = 0;
const ids = new Set();
const socket = createSocket('udp4');
socket.on('message', (msg) => {
  received++;
  const text = msg.toString('utf8');
  const doc = JSON.parse(text.slice(text.indexOf('\n') + 1));
  if (!validate(doc)) invalid++;
  const walk = (d) => {
    ids.add(d.id);
    for (const s of d.subsegments ?? []) walk(s);
  };
  walk(doc);
});
socket.bind(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: socket.address().port, receiveBuffer: socket.getRecvBufferSize() })}\n`);
});
/** The socket's drop counter in /proc/net/udp (the last column), or -1 where it cannot be read. */
function kernelDrops() {
  try {
    const port = socket.address().port.toString(16).toUpperCase().padStart(4, '0');
    const line = readFileSync('/proc/net/udp', 'utf8').split('\n').find((l) => l.trim().split(/\s+/)[1]?.endsWith(`:${port}`));
    return line ? Number(line.trim().split(/\s+/).at(-1)) : -1;
  } catch {
    return -1;
  }
}

createInterface({ input: process.stdin }).on('line', (line) => {
  if (line === 'report') process.stdout.write(`${JSON.stringify({ received, invalid, ids: ids.size, kernelDrops: kernelDrops() })}\n`);
  if (line === 'reset') {
    received = 0;
    invalid = 0;
    ids.clear();
  }
  if (line === 'exit') socket.close(() => process.exit(0));
});
