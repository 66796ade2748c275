// Local implementations of the AWS services the catalog uses, for `npm start` and the e2e suite: DynamoDB
// from `dynalite` and S3 from `s3rver`, both on 127.0.0.1, in this process. Nothing goes to AWS.
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const require = createRequire(import.meta.url);

/** The endpoints of the running local services, and how to stop them. */
export interface LocalAws {
  dynamodbEndpoint: string;
  s3Endpoint: string;
  stop(): Promise<void>;
}

export async function startLocalAws(): Promise<LocalAws> {
  const dynalite = require('dynalite') as (options: object) => Server;
  const S3rver = require('s3rver') as new (options: object) => { run(): Promise<{ port: number }>; close(): Promise<void> };
  const dynamo = dynalite({ createTableMs: 0 });
  await new Promise<void>((resolve) => dynamo.listen(0, '127.0.0.1', resolve));
  const directory = mkdtempSync(join(tmpdir(), 'xrayjs-demo-s3-'));
  const s3 = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory });
  const { port } = await s3.run();
  return {
    dynamodbEndpoint: `http://127.0.0.1:${(dynamo.address() as { port: number }).port}`,
    s3Endpoint: `http://127.0.0.1:${port}`,
    async stop() {
      dynamo.closeAllConnections();
      await new Promise((resolve) => dynamo.close(resolve));
      await s3.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
