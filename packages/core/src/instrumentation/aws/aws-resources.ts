/**
 * The resource fields X-Ray's console and service map read from an AWS call's `aws` block, per service
 * (the services the X-Ray SDKs describe: DynamoDB, SQS, SNS, S3, Lambda, SageMaker Runtime). Only
 * names and counts are taken from a command's input and output, never item data, message bodies or
 * object contents.
 * @internal
 */

type Fields = Record<string, unknown>;
type Extractor = (input: Fields, output: Fields | undefined, fields: Fields) => void;

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

function keysOf(value: unknown): string[] | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? Object.keys(value) : undefined;
}

function countOf(value: unknown): number | undefined {
  return Array.isArray(value) ? value.length : undefined;
}

function set(fields: Fields, key: string, value: unknown): void {
  if (value !== undefined) fields[key] = value;
}

const dynamodb: Extractor = (input, output, fields) => {
  set(fields, 'table_name', str(input.TableName));
  const tables = keysOf(input.RequestItems);
  if (tables) fields.table_names = tables;
  if (Array.isArray(input.TransactItems)) {
    const names = new Set<string>();
    for (const item of input.TransactItems as Record<string, { TableName?: unknown }>[]) {
      for (const op of Object.values(item ?? {})) if (typeof op?.TableName === 'string') names.add(op.TableName);
    }
    if (names.size > 0) fields.table_names = [...names];
  }
  set(fields, 'index_name', str(input.IndexName));
  set(fields, 'table_count', countOf(output?.TableNames));
};

const sqs: Extractor = (input, output, fields) => {
  set(fields, 'queue_url', str(input.QueueUrl) ?? str(output?.QueueUrl));
  set(fields, 'queue_name', str(input.QueueName));
  const attributes = keysOf(input.MessageAttributes);
  if (attributes && attributes.length > 0) fields.message_attribute_names = attributes;
  set(fields, 'message_count', countOf(input.Entries) ?? countOf(output?.Messages));
};

const sns: Extractor = (input, _output, fields) => {
  set(fields, 'topic_arn', str(input.TopicArn) ?? str(input.TargetArn));
};

const s3: Extractor = (input, _output, fields) => {
  set(fields, 'bucket_name', str(input.Bucket));
  set(fields, 'key', str(input.Key));
  set(fields, 'version_id', str(input.VersionId));
};

const lambda: Extractor = (input, output, fields) => {
  set(fields, 'function_name', str(input.FunctionName));
  set(fields, 'invocation_type', str(input.InvocationType));
  set(fields, 'function_error', str(output?.FunctionError));
  if (typeof output?.StatusCode === 'number') fields.status_code = output.StatusCode;
};

const sagemaker: Extractor = (input, _output, fields) => {
  set(fields, 'endpoint_name', str(input.EndpointName));
};

/** By the client's `serviceId` (DynamoDB, SQS, ...), lower-cased without spaces. */
const EXTRACTORS: Record<string, Extractor> = {
  dynamodb,
  sqs,
  sns,
  s3,
  lambda,
  sagemakerruntime: sagemaker,
};

/** The services whose resource fields are recorded, for the README. */
export const SERVICES_WITH_RESOURCES = 'DynamoDB (table_name, table_names, index_name, table_count), SQS (queue_url, queue_name, message_attribute_names, message_count), SNS (topic_arn), S3 (bucket_name, key, version_id), Lambda (function_name, invocation_type, function_error, status_code), SageMaker Runtime (endpoint_name)';

/** Adds the resource fields of a call to `fields`. Never throws. */
export function addResourceFields(serviceId: string, input: unknown, output: unknown, fields: Fields): void {
  const extract = EXTRACTORS[serviceId.toLowerCase().replace(/[\s-]/g, '')];
  if (extract === undefined || typeof input !== 'object' || input === null) return;
  try {
    extract(input as Fields, typeof output === 'object' && output !== null ? (output as Fields) : undefined, fields);
  } catch {
    // a command input of an unexpected shape: the resource fields are left out
  }
}
