import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';

import type { PluginName } from '../config/config.js';
import { diag } from '../diag.js';
import { withoutTracing } from '../instrumentation/suppression.js';

/** What a plugin adds to segments: a key of the `aws` block and the `origin`. */
export interface PluginData {
  readonly key: 'ec2' | 'ecs' | 'elastic_beanstalk';
  readonly data: Record<string, unknown>;
  readonly origin: string;
}

/** Where plugins look. */
export interface PluginOptions {
  ec2MetadataEndpoint: string;
  elasticBeanstalkConfigPath: string;
  /** Time limit of each metadata request. @default 1000 */
  timeoutMs?: number;
}

/** The merged result of all plugins. */
export interface PluginResult {
  aws: Record<string, unknown>;
  origin: string | undefined;
}

/**
 * Runs the plugins (in the given order; the origin comes from the last one that found data). A plugin
 * that finds nothing (not on EC2, no Beanstalk file) adds nothing and logs why once.
 */
export async function runPlugins(names: readonly PluginName[], options: PluginOptions): Promise<PluginResult> {
  const results = await Promise.all(names.map((name) => runPlugin(name, options)));
  const result: PluginResult = { aws: {}, origin: undefined };
  for (const r of results) {
    if (!r) continue;
    result.aws[r.key] = r.data;
    result.origin = r.origin;
  }
  return result;
}

async function runPlugin(name: PluginName, options: PluginOptions): Promise<PluginData | undefined> {
  try {
    switch (name) {
      case 'EC2Plugin':
        // The recorder's own I/O never appears in its traces.
        return await withoutTracing(() => ec2(options.ec2MetadataEndpoint.replace(/\/+$/, ''), options.timeoutMs ?? 1000));
      case 'ECSPlugin':
        return { key: 'ecs', data: { container: hostname() }, origin: 'AWS::ECS::Container' };
      case 'ElasticBeanstalkPlugin':
        return await elasticBeanstalk(options.elasticBeanstalkConfigPath);
    }
  } catch (e) {
    diag.warn('plugin_failed', `${name} found no data and is skipped: ${(e as Error).message}`, name);
    return undefined;
  }
}

/** IMDSv2 first (a token), then IMDSv1, as the Python SDK does. */
async function ec2(endpoint: string, timeoutMs: number): Promise<PluginData> {
  let token: string | undefined;
  try {
    const res = await fetch(`${endpoint}/latest/api/token`, {
      method: 'PUT',
      headers: { 'X-aws-ec2-metadata-token-ttl-seconds': '60' },
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (res.ok) token = await res.text();
  } catch {
    // IMDSv1 fallback below
  }
  const res = await fetch(`${endpoint}/latest/dynamic/instance-identity/document`, {
    headers: token ? { 'X-aws-ec2-metadata-token': token } : {},
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (!res.ok) throw new Error(`instance identity document: HTTP ${res.status}`);
  const doc = (await res.json()) as Record<string, unknown>;
  const data: Record<string, unknown> = {};
  for (const [from, to] of [
    ['instanceId', 'instance_id'],
    ['availabilityZone', 'availability_zone'],
    ['instanceType', 'instance_type'],
    ['imageId', 'ami_id'],
  ] as const) {
    if (typeof doc[from] === 'string') data[to] = doc[from];
  }
  if (data.instance_id === undefined) throw new Error('the instance identity document has no instanceId');
  return { key: 'ec2', data, origin: 'AWS::EC2::Instance' };
}

async function elasticBeanstalk(path: string): Promise<PluginData> {
  const doc = JSON.parse(await readFile(path, 'utf8')) as unknown;
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new Error(`${path} is not a JSON object`);
  return { key: 'elastic_beanstalk', data: doc as Record<string, unknown>, origin: 'AWS::ElasticBeanstalk::Environment' };
}
