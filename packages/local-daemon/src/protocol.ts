import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import AjvDraft04Module from 'ajv-draft-04';

import { PACKAGE_ROOT } from './package-root.js';

/** Largest datagram the real daemon reads (its 64 KB buffer). */
export const DAEMON_BUFFER_BYTES = 65_536;

/**
 * How deeply a document may nest (objects and arrays). X-Ray documents nest a few levels per subsegment;
 * a datagram nested thousands deep is junk that would cost milliseconds to parse and validate.
 */
export const MAX_NESTING = 512;

/** The deepest nesting of objects and arrays in JSON text, outside strings; stops counting past `limit`. */
function nesting(text: string, limit: number): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max && (max = depth) > limit) return max;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return max;
}

/** A document received from an SDK. */
export type SegmentDocument = Record<string, unknown> & { id: string; name: string; trace_id?: string; type?: string; parent_id?: string };

/** Why a datagram was refused. */
export interface Rejection {
  at: number;
  bytes: number;
  reason: string;
  /** The start of what was received, for the viewer. */
  excerpt: string;
}

type Validate = ((data: unknown) => boolean) & { errors?: { instancePath?: string; message?: string }[] | null };

let validate: Validate | undefined;

/** Validates a document against AWS's segment-document schema (draft-04). */
export function validateDocument(doc: unknown): string | undefined {
  if (!validate) {
    const schema = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'schema', 'xray-segment-document.schema.json'), 'utf8')) as object;
    const Ajv = ((AjvDraft04Module as unknown as { default?: unknown }).default ?? AjvDraft04Module) as new (o: object) => { compile(s: object): Validate };
    // The first error is enough to say why, and junk stops being checked at it.
    validate = new Ajv({ allErrors: false, strict: false }).compile(schema);
  }
  if (validate(doc)) return undefined;
  return (validate.errors ?? []).slice(0, 3).map((e) => `${e.instancePath || '/'} ${e.message ?? 'invalid'}`).join('; ');
}

/**
 * Reads one datagram as the X-Ray daemon does: a header line (`{"format":"json","version":1}`; the
 * daemon accepts any white space and the format in any case), a newline, then exactly one JSON
 * document, which must also pass AWS's schema here (the real daemon only learns that from the service).
 */
export function parseDatagram(message: Buffer): { doc: SegmentDocument } | { rejection: Omit<Rejection, 'at'> } {
  const bytes = message.length;
  const text = message.toString('utf8');
  const reject = (reason: string) => ({ rejection: { bytes, reason, excerpt: text.slice(0, 200) } });
  if (bytes > DAEMON_BUFFER_BYTES) return reject(`datagram of ${bytes} bytes is over the daemon's 64 KB buffer`);
  const nl = text.indexOf('\n');
  if (nl === -1) return reject('no header line (expected {"format":"json","version":1} and a newline before the document)');
  let header: { format?: unknown; version?: unknown };
  try {
    header = JSON.parse(text.slice(0, nl)) as typeof header;
  } catch {
    return reject(`the header line is not JSON: ${text.slice(0, Math.min(nl, 80))}`);
  }
  if (typeof header?.format !== 'string' || header.format.toLowerCase() !== 'json' || header.version !== 1) {
    return reject(`unsupported header ${text.slice(0, Math.min(nl, 80))} (expected {"format":"json","version":1})`);
  }
  const body = text.slice(nl + 1);
  if (body.trim() === '') return reject('missing segment document after the header');
  if (nesting(body, MAX_NESTING) > MAX_NESTING) return reject(`the document nests deeper than ${MAX_NESTING} levels`);
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch (e) {
    return reject(`the document is not JSON: ${(e as Error).message}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return reject('the document is not a JSON object');
  const invalid = validateDocument(doc);
  if (invalid) return reject(`the document fails AWS's segment schema: ${invalid}`);
  return { doc: doc as SegmentDocument };
}
