import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import AjvDraft04Module from 'ajv-draft-04';

/** The repository's copy of AWS's conformance data (see conformance/SOURCES.md). */
export const CONFORMANCE_DIR = fileURLToPath(new URL('../../../../conformance/', import.meta.url));
/**
 * AWS's segment-document schema: the one copy in the repository, the file `@xrayjs/local-daemon`
 * ships and validates with, so that the tests and the daemon check against the same bytes.
 */
export const SCHEMA_FILE = fileURLToPath(new URL('../../../local-daemon/schema/xray-segment-document.schema.json', import.meta.url));

export function loadVectors<T>(file: string): T {
  return JSON.parse(readFileSync(CONFORMANCE_DIR + file, 'utf8')) as T;
}

type AjvLike = {
  compile(schema: object): ((data: unknown) => boolean) & { errors?: unknown };
  addKeyword(keyword: string): void;
};
const AjvClass = ((AjvDraft04Module as unknown as { default?: unknown }).default ?? AjvDraft04Module) as new (
  options: object,
) => AjvLike;

let validator: (((data: unknown) => boolean) & { errors?: unknown }) | undefined;

/** Validates a document against AWS's segment-document schema (draft-04). */
export function validateSegmentDocument(doc: unknown): { valid: boolean; errors: unknown } {
  if (!validator) {
    const ajv = new AjvClass({ allErrors: true, strict: false });
    validator = ajv.compile(JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')) as object);
  }
  const valid = validator(doc);
  return { valid, errors: validator.errors };
}
