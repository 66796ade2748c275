import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { CreateTableCommand, DynamoDB, DynamoDBClient, GetItemCommand, ListTablesCommand, PutItemCommand, BatchGetItemCommand } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';

import { diag } from '../../src/diag.js';
import { captureAWSClient, InMemoryEmitter, Recorder } from '../../src/index.js';
import { validateSegmentDocument } from '../support/conformance.js';

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const require = createRequire(import.meta.url);
const dynalite = require('dynalite') as (options: object) => http.Server;
const S3rver = require('s3rver') as new (options: object) => { run(): Promise<{ port: number }>; close(): Promise<void> };

const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
const region = 'eu-west-1';

/** A local endpoint that answers DynamoDB calls with what a test scripts: throttling, 5xx, then success. */
function scriptedDynamo(script: { status: number; body: object }[]): { server: http.Server; headers: (string | undefined)[]; calls: () => number } {
  const headers: (string | undefined)[] = [];
  let calls = 0;
  const server = http.createServer((req, res) => {
    headers.push(req.headers['x-amzn-trace-id'] as string | undefined);
    req.resume();
    req.on('end', () => {
      const step = script[Math.min(calls, script.length - 1)];
      calls++;
      res.writeHead(step.status, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': `req-${calls}` });
      res.end(JSON.stringify(step.body));
    });
  });
  return { server, headers, calls: () => calls };
}

describe('AWS SDK v3, against local implementations', () => {
  let dynamo: http.Server;
  let dynamoEndpoint: string;
  let s3: InstanceType<typeof S3rver>;
  let s3Endpoint: string;
  let s3Dir: string;
  let emitter: InMemoryEmitter;
  let recorder: Recorder;

  beforeAll(async () => {
    dynamo = dynalite({ createTableMs: 0 });
    await new Promise<void>((r) => dynamo.listen(0, '127.0.0.1', r));
    dynamoEndpoint = `http://127.0.0.1:${(dynamo.address() as { port: number }).port}`;
    s3Dir = mkdtempSync(join(tmpdir(), 'xrayjs-s3rver-'));
    s3 = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: s3Dir });
    s3Endpoint = `http://127.0.0.1:${(await s3.run()).port}`;
  });
  afterAll(async () => {
    dynamo.closeAllConnections();
    await new Promise((r) => dynamo.close(r));
    await s3.close();
    rmSync(s3Dir, { recursive: true, force: true });
  });

  async function start(options: Record<string, unknown> = {}): Promise<void> {
    emitter = new InMemoryEmitter();
    recorder = new Recorder().configure({ AWS_XRAY_TRACING_NAME: 'aws-caller', EMITTER: emitter, SAMPLING: false, LOGGER: false, ...options });
    await recorder.ready();
  }
  afterEach(async () => {
    await recorder?.shutdown();
    diag.reset();
  });

  const subsOf = (name: string): Doc[] => ((emitter.documents.find((d) => d.name === name) as Doc).subsegments as Doc[]) ?? [];

  it('makes each DynamoDB call an aws subsegment with its operation, region, request id and tables, and no second HTTP subsegment', async () => {
    await start();
    const client = new DynamoDBClient({ endpoint: dynamoEndpoint, region, credentials });
    const aggregated = new DynamoDB({ endpoint: dynamoEndpoint, region, credentials });
    const untracedTables = await client.send(new ListTablesCommand({}));
    await recorder.captureSegment('dynamo', async () => {
      await client.send(new CreateTableCommand({ TableName: 'orders', AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }], KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }], BillingMode: 'PAY_PER_REQUEST' }));
      await client.send(new PutItemCommand({ TableName: 'orders', Item: { id: { S: '1' }, secret: { S: 'never-recorded' } } }));
      const item = await aggregated.getItem({ TableName: 'orders', Key: { id: { S: '1' } } });
      expect(item.Item).toEqual({ id: { S: '1' }, secret: { S: 'never-recorded' } });
      await client.send(new BatchGetItemCommand({ RequestItems: { orders: { Keys: [{ id: { S: '1' } }] } } }));
      const tables = await client.send(new ListTablesCommand({}));
      expect(tables.TableNames).toEqual([...(untracedTables.TableNames ?? []), 'orders']);
    });
    const subs = subsOf('dynamo');
    expect(subs.map((s) => [s.name, s.namespace, s.aws.operation, s.aws.table_name ?? s.aws.table_names ?? s.aws.table_count])).toEqual([
      ['DynamoDB', 'aws', 'CreateTable', 'orders'],
      ['DynamoDB', 'aws', 'PutItem', 'orders'],
      ['DynamoDB', 'aws', 'GetItem', 'orders'],
      ['DynamoDB', 'aws', 'BatchGetItem', ['orders']],
      ['DynamoDB', 'aws', 'ListTables', 1],
    ]);
    for (const sub of subs) {
      expect(sub).toMatchObject({ aws: { region, request_id: expect.any(String), retries: 0 }, http: { response: { status: 200 } }, in_progress: false });
      // The SDK's own HTTP request is part of the aws subsegment, not traced again.
      expect(sub.subsegments).toBeUndefined();
    }
    expect(JSON.stringify(emitter.documents)).not.toContain('never-recorded');
    for (const doc of emitter.documents) expect(validateSegmentDocument(doc).errors).toBeNull();
  });

  it('records a service error as an error with the remote exception, and the caller gets the same error', async () => {
    await start();
    const client = new DynamoDBClient({ endpoint: dynamoEndpoint, region, credentials });
    const call = () => client.send(new GetItemCommand({ TableName: 'missing', Key: { id: { S: '1' } } }));
    const untraced = (await call().catch((e: Error) => e)) as Error;
    const traced = (await recorder.captureSegment('missing', () => call().catch((e: Error) => e))) as Error;
    expect([traced.name, traced.constructor, (traced as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode]).toEqual([untraced.name, untraced.constructor, 400]);
    const [sub] = subsOf('missing');
    expect(sub).toMatchObject({ name: 'DynamoDB', error: true, http: { response: { status: 400 } }, cause: { exceptions: [{ type: 'ResourceNotFoundException', remote: true }] } });
    expect(sub.fault).toBeUndefined();
  });

  it('spans every retry in one subsegment and flags throttling and 5xx, with the trace header on each attempt', async () => {
    const throttled = { status: 400, body: { __type: 'com.amazonaws.dynamodb.v20120810#ThrottlingException', message: 'slow down' } };
    const broken = { status: 500, body: { __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError', message: 'oops' } };
    const ok = { status: 200, body: { Item: { id: { S: '1' } } } };
    const retried = scriptedDynamo([broken, throttled, ok]);
    const alwaysThrottled = scriptedDynamo([throttled]);
    const alwaysBroken = scriptedDynamo([broken]);
    for (const s of [retried, alwaysThrottled, alwaysBroken]) await new Promise<void>((r) => s.server.listen(0, '127.0.0.1', r));
    const endpoint = (s: http.Server) => `http://127.0.0.1:${(s.address() as { port: number }).port}`;
    try {
      await start();
      const fast = { maxAttempts: 3, region, credentials };
      let traceId = '';
      await recorder.captureSegment('retries', async (segment) => {
        traceId = segment.trace_id;
        await new DynamoDBClient({ ...fast, endpoint: endpoint(retried.server) }).send(new GetItemCommand({ TableName: 't', Key: { id: { S: '1' } } }));
        await new DynamoDBClient({ ...fast, endpoint: endpoint(alwaysThrottled.server) }).send(new GetItemCommand({ TableName: 't', Key: { id: { S: '1' } } })).catch(() => {});
        await new DynamoDBClient({ ...fast, endpoint: endpoint(alwaysBroken.server) }).send(new GetItemCommand({ TableName: 't', Key: { id: { S: '1' } } })).catch(() => {});
      });
      const [ok1, fail, fault] = subsOf('retries');
      expect(fault).toMatchObject({ fault: true, http: { response: { status: 500 } }, aws: { retries: 2 } });
      expect(fault.error).toBeUndefined();
      expect(retried.calls()).toBe(3);
      expect(ok1).toMatchObject({ aws: { operation: 'GetItem', retries: 2, request_id: 'req-3' }, http: { response: { status: 200 } } });
      expect(ok1.fault).toBeUndefined();
      expect(fail).toMatchObject({ throttle: true, error: true, aws: { retries: 2 }, cause: { exceptions: [{ type: 'ThrottlingException', remote: true }] } });
      // Every attempt carried the subsegment as its parent.
      expect(new Set(retried.headers)).toEqual(new Set([`Root=${traceId};Parent=${ok1.id};Sampled=1`]));
    } finally {
      for (const s of [retried, alwaysThrottled, alwaysBroken]) {
        s.server.closeAllConnections();
        await new Promise((r) => s.server.close(r));
      }
    }
  });

  it('records S3 bucket and key, and nests a call under the subsegment it is made in', async () => {
    await start();
    // s3rver's own default key.
    const client = new S3Client({ endpoint: s3Endpoint, region: 'us-east-1', credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }, forcePathStyle: true });
    await recorder.captureSegment('s3', async () => {
      await client.send(new CreateBucketCommand({ Bucket: 'invoices' }));
      await recorder.capture('InvoiceService.store', () => client.send(new PutObjectCommand({ Bucket: 'invoices', Key: '2026/12/1.json', Body: '{"total":1}' })));
      const got = await client.send(new GetObjectCommand({ Bucket: 'invoices', Key: '2026/12/1.json' }));
      expect(await got.Body!.transformToString()).toBe('{"total":1}');
    });
    const subs = subsOf('s3');
    expect(subs.map((s) => [s.name, s.aws?.operation ?? s.subsegments?.[0]?.aws.operation, s.aws?.key ?? s.subsegments?.[0]?.aws.key])).toEqual([
      ['S3', 'CreateBucket', undefined],
      ['InvoiceService.store', 'PutObject', '2026/12/1.json'],
      ['S3', 'GetObject', '2026/12/1.json'],
    ]);
    expect(subs[0].aws.bucket_name).toBe('invoices');
  });

  it('propagates Sampled=0 without recording in an unsampled trace, and traces a client passed to captureAWSClient()', async () => {
    const scripted = scriptedDynamo([{ status: 200, body: { TableNames: [] } }]);
    await new Promise<void>((r) => scripted.server.listen(0, '127.0.0.1', r));
    try {
      await start({ AUTO_INSTRUMENT: { 'aws-sdk': false } });
      const client = new DynamoDBClient({ endpoint: `http://127.0.0.1:${(scripted.server.address() as { port: number }).port}`, region, credentials });
      // Off for this recorder: the SDK's HTTP request is then an ordinary outgoing HTTP call.
      await recorder.captureSegment('off', () => client.send(new ListTablesCommand({})));
      expect(subsOf('off').map((s) => s.namespace)).toEqual(['remote']);
      await recorder.shutdown();

      await start();
      const unsampled = recorder.beginRequestSegment({ traceHeader: 'Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=0' })!;
      await recorder.runWith(unsampled, () => client.send(new ListTablesCommand({})));
      unsampled.close();
      expect(scripted.headers.at(-1)).toBe(`Root=1-5759e988-bd862e3fe1be46a994272793;Parent=${unsampled.id};Sampled=0`);
      expect(captureAWSClient(client)).toBe(client);
      await recorder.captureSegment('captured', () => client.send(new ListTablesCommand({})));
      expect(subsOf('captured').map((s) => [s.name, s.aws.operation])).toEqual([['DynamoDB', 'ListTables']]);
    } finally {
      scripted.server.closeAllConnections();
      await new Promise((r) => scripted.server.close(r));
    }
  });
});
