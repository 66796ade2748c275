import { request as httpRequest } from 'node:http';

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A plain HTTP/1.1 request over a new connection (so that a test can forge Host). */
export function request(port: number, path: string, headers: Record<string, string> = {}, method = 'GET', body?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** The Root of an `X-Amzn-Trace-Id` response header. */
export function rootOf(reply: Reply): string {
  const value = String(reply.headers['x-amzn-trace-id'] ?? '');
  const m = /Root=([^;]+)/.exec(value);
  if (!m) throw new Error(`no trace header in the response: ${JSON.stringify(reply.headers)}`);
  return m[1];
}

/** Sends a request and goes away before the answer; resolves once the connection is closed. */
export function abandon(port: number, path: string, afterMs: number): Promise<void> {
  return new Promise((resolve) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, agent: false });
    req.on('error', () => resolve());
    req.on('close', () => resolve());
    req.end();
    setTimeout(() => req.destroy(), afterMs);
  });
}
