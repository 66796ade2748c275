import { createServer, type IncomingMessage, type Server } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { diag } from '../src/diag.js';
import { InMemoryEmitter } from '../src/emitting/in-memory-emitter.js';
import { runPlugins } from '../src/plugins/plugins.js';
import { Recorder } from '../src/recorder/recorder.js';
import { validateSegmentDocument } from './support/conformance.js';

/** A local stand-in for the EC2 instance metadata service (IMDSv2 with token, or v1 only). */
async function imds(mode: 'v2' | 'v1'): Promise<{ server: Server; url: string; requests: string[] }> {
  const requests: string[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    requests.push(`${req.method} ${req.url} ${req.headers['x-aws-ec2-metadata-token'] ?? ''}`.trim());
    if (req.method === 'PUT' && req.url === '/latest/api/token') {
      if (mode === 'v1') return void res.writeHead(404).end();
      return void res.end('TOKEN123');
    }
    if (req.url === '/latest/dynamic/instance-identity/document') {
      if (mode === 'v2' && req.headers['x-aws-ec2-metadata-token'] !== 'TOKEN123') return void res.writeHead(401).end();
      res.setHeader('content-type', 'application/json');
      return void res.end(JSON.stringify({ instanceId: 'i-0abc', availabilityZone: 'eu-west-1a', instanceType: 't3.micro', imageId: 'ami-123', region: 'eu-west-1' }));
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return { server, url: `http://127.0.0.1:${port}`, requests };
}

describe('plugins', () => {
  let v2: Awaited<ReturnType<typeof imds>>;
  let v1: Awaited<ReturnType<typeof imds>>;
  let ebFile: string;

  beforeAll(async () => {
    diag.setLogger(false);
    v2 = await imds('v2');
    v1 = await imds('v1');
    ebFile = join(mkdtempSync(join(tmpdir(), 'xrayjs-eb-')), 'environment.conf');
    writeFileSync(ebFile, JSON.stringify({ deployment_id: 23, version_label: 'v1.2', environment_name: 'prod-env' }));
  });
  afterAll(() => Promise.all([v2, v1].map((s) => new Promise((r) => s.server.close(r)))));

  it('EC2Plugin should use an IMDSv2 token', async () => {
    const r = await runPlugins(['EC2Plugin'], { ec2MetadataEndpoint: v2.url, elasticBeanstalkConfigPath: ebFile });
    expect(r).toEqual({
      aws: { ec2: { instance_id: 'i-0abc', availability_zone: 'eu-west-1a', instance_type: 't3.micro', ami_id: 'ami-123' } },
      origin: 'AWS::EC2::Instance',
    });
    expect(v2.requests).toEqual(['PUT /latest/api/token', 'GET /latest/dynamic/instance-identity/document TOKEN123']);
  });

  it('EC2Plugin should fall back to IMDSv1', async () => {
    const r = await runPlugins(['EC2Plugin'], { ec2MetadataEndpoint: v1.url, elasticBeanstalkConfigPath: ebFile });
    expect(r.aws.ec2).toMatchObject({ instance_id: 'i-0abc' });
  });

  it('should add nothing for a plugin that finds nothing, and take the origin from the last one that did', async () => {
    const r = await runPlugins(['ElasticBeanstalkPlugin', 'ECSPlugin', 'EC2Plugin'], { ec2MetadataEndpoint: 'http://127.0.0.1:9', elasticBeanstalkConfigPath: ebFile, timeoutMs: 300 });
    expect(r).toEqual({
      aws: { elastic_beanstalk: { deployment_id: 23, version_label: 'v1.2', environment_name: 'prod-env' }, ecs: { container: hostname() } },
      origin: 'AWS::ECS::Container',
    });
  });

  it('should put plugin data on every segment once ready', async () => {
    const emitter = new InMemoryEmitter();
    const recorder = new Recorder().configure({
      AWS_XRAY_TRACING_NAME: 'p',
      EMITTER: emitter,
      LOGGER: false,
      SAMPLING: false,
      PLUGINS: ['EC2Plugin', 'ElasticBeanstalkPlugin'],
      EC2_METADATA_ENDPOINT: v2.url,
      ELASTIC_BEANSTALK_CONFIG_PATH: ebFile,
    });
    await recorder.ready();
    recorder.captureSegment('s', () => {});
    recorder.captureSegment('t', () => {});
    expect(emitter.documents).toHaveLength(2);
    for (const doc of emitter.documents) {
      expect(doc).toMatchObject({
        origin: 'AWS::ElasticBeanstalk::Environment',
        aws: { ec2: { instance_id: 'i-0abc' }, elastic_beanstalk: { environment_name: 'prod-env' }, xray: { sdk: 'xrayjs for Node.js' } },
      });
      expect(validateSegmentDocument(doc).valid).toBe(true);
    }
  });
});
