// A stand-in for an X-Ray daemon in another process: a UDP socket with the system's default receive
// buffer (nothing enlarges it) that splits the header line, parses and schema-validates each
// document, as the daemon and xray-local do. It prints its port, then, on "report" from stdin, what
// it received as one JSON line.
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
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line === 'report') process.stdout.write(`${JSON.stringify({ received, invalid, ids: ids.size })}\n`);
  if (line === 'exit') socket.close(() => process.exit(0));
});
