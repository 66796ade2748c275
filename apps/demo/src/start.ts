// `npm start`: the local X-Ray daemon and viewer, and the demo app traced into it.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { LocalDaemon } from '@xrayjs/local-daemon';

import { READY_LINE } from './ready-line.js';

const daemon = await LocalDaemon.start({
  address: process.env.XRAY_LOCAL_ADDRESS ?? '127.0.0.1:2000',
  viewerPort: Number(process.env.XRAY_VIEWER_PORT ?? 2001),
  file: process.env.XRAY_LOCAL_FILE,
});
const port = process.env.PORT ?? '3000';
const app = spawn(process.execPath, [fileURLToPath(new URL('./main.js', import.meta.url))], {
  stdio: ['ignore', 'pipe', 'inherit'],
  env: { ...process.env, PORT: port, AWS_XRAY_DAEMON_ADDRESS: daemon.daemonAddress },
});
// The URLs go last, once the app says it listens (after Nest's start-up lines).
let buffered = '';
let announced = false;
app.stdout.on('data', (chunk: Buffer) => {
  process.stdout.write(chunk);
  if (announced) return;
  buffered += chunk.toString('utf8');
  if (!buffered.includes(READY_LINE)) return;
  announced = true;
  buffered = '';
  process.stdout.write(
    `\n  Demo app:     http://127.0.0.1:${port}/\n  Trace viewer: ${daemon.viewerUrl}\n  (X-Ray daemon stand-in on UDP ${daemon.udpAddress}; Ctrl-C stops both)\n\n`,
  );
});
const stop = (code = 0) => {
  app.kill('SIGTERM');
  void daemon.stop().finally(() => process.exit(code));
};
app.on('exit', (code) => stop(code ?? 0));
process.on('SIGINT', () => stop());
process.on('SIGTERM', () => stop());
