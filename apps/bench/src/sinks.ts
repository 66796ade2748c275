import { createSocket, type Socket } from 'node:dgram';
import { createServer, type Server } from 'node:http';

/** A UDP stand-in for the X-Ray daemon that counts segments (documents without `type`). */
export class UdpSink {
  segments = 0;
  documents = 0;
  broken = 0;
  private constructor(
    private readonly socket: Socket,
    readonly port: number,
  ) {}

  static async start(): Promise<UdpSink> {
    const socket = createSocket('udp4');
    await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
    try {
      socket.setRecvBufferSize(16 * 1024 * 1024);
    } catch {
      // default buffer
    }
    const sink = new UdpSink(socket, socket.address().port);
    socket.on('message', (msg) => {
      const nl = msg.indexOf(10);
      try {
        const doc = JSON.parse(msg.subarray(nl + 1).toString('utf8')) as { type?: string };
        sink.documents++;
        if (doc.type === undefined) sink.segments++;
      } catch {
        sink.broken++;
      }
    });
    return sink;
  }

  close(): Promise<void> {
    return new Promise((r) => this.socket.close(() => r()));
  }
}

/** An OTLP/HTTP (JSON) endpoint that counts root spans, one per traced request. */
export class OtlpSink {
  private constructor(
    private readonly server: Server,
    readonly url: string,
    private readonly counts: { rootSpans: number; spans: number },
  ) {}

  get rootSpans(): number {
    return this.counts.rootSpans;
  }

  get spans(): number {
    return this.counts.spans;
  }

  static async start(): Promise<OtlpSink> {
    const counts = { rootSpans: 0, spans: 0 };
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        try {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
            resourceSpans?: { scopeSpans?: { spans?: { parentSpanId?: string }[] }[] }[];
          };
          for (const rs of body.resourceSpans ?? [])
            for (const ss of rs.scopeSpans ?? [])
              for (const span of ss.spans ?? []) {
                counts.spans++;
                if (!span.parentSpanId) counts.rootSpans++;
              }
        } catch {
          // not JSON: ignored
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as { port: number };
    return new OtlpSink(server, `http://127.0.0.1:${port}/v1/traces`, counts);
  }

  close(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }
}
