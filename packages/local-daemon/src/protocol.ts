import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import AjvDraft04Module from 'ajv-draft-04';

import { PACKAGE_ROOT } from './package-root.js';

/** Largest datagram the real daemon reads (its 64 KB buffer). */
export const DAEMON_BUFFER_BYTES = 65_536;

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
    validate = new Ajv({ allErrors: true, strict: false }).compile(schema);
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
