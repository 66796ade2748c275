import { diag } from '../diag.js';

/** The namespace of the metadata that marks a trimmed document. */
export const TRIM_MARKER_NAMESPACE = 'xrayjs';

type Doc = Record<string, unknown>;

/** Whether a JSON text fits `maxBytes` once UTF-8 encoded (cheap checks first). @internal */
export function fitsBytes(json: string, maxBytes: number): boolean {
  if (json.length > maxBytes) return false;
  if (json.length * 3 <= maxBytes) return true;
  return Buffer.byteLength(json) <= maxBytes;
}

const SQL_KEEP = 4096;

/**
 * Cuts a single document that is over the limit even without its children, saying what was cut in
 * `metadata.xrayjs`: metadata first, then the SQL text, exception details, annotations, the http
 * and aws blocks, and last the children. The document stays valid; only its largest optional parts go.
 * @internal
 */
export function trimDocument(json: string, maxBytes: number): string {
  const doc = JSON.parse(json) as Doc;
  const originalBytes = Buffer.byteLength(json);
  const cut: string[] = [];
  const marker = (): Doc => ({ [TRIM_MARKER_NAMESPACE]: { trimmed: cut, original_bytes: originalBytes } });
  const steps: [string, () => void][] = [
    ['metadata', () => delete doc.metadata],
    ['sql.sanitized_query', () => trimSql(doc)],
    ['cause', () => trimCause(doc)],
    ['annotations', () => delete doc.annotations],
    ['http', () => delete doc.http],
    ['aws', () => delete doc.aws],
    ['subsegments', () => delete doc.subsegments],
  ];
  for (const [what, step] of steps) {
    if (doc[what.split('.')[0]] === undefined) continue;
    step();
    cut.push(what);
    doc.metadata = marker();
    const out = JSON.stringify(doc);
    if (fitsBytes(out, maxBytes)) {
      diag.warn('document_trimmed', `A document of ${originalBytes} bytes was over the ${maxBytes}-byte limit and was trimmed (${cut.join(', ')}); see metadata.xrayjs.`);
      return out;
    }
  }
  // Unreachable in practice: what is left is bounded (names <= 200 characters).
  const minimal: Doc = {};
  for (const key of ['name', 'id', 'trace_id', 'parent_id', 'type', 'start_time', 'end_time', 'in_progress', 'fault', 'error', 'throttle', 'namespace']) {
    if (doc[key] !== undefined) minimal[key] = doc[key];
  }
  cut.push('everything else');
  minimal.metadata = marker();
  return JSON.stringify(minimal);
}

function trimSql(doc: Doc): void {
  const sql = doc.sql as Record<string, unknown> | undefined;
  if (!sql || typeof sql.sanitized_query !== 'string') return;
  doc.sql = { ...sql, sanitized_query: sql.sanitized_query.slice(0, SQL_KEEP) };
}

function trimCause(doc: Doc): void {
  const cause = doc.cause;
  if (typeof cause !== 'object' || cause === null) return;
  const c = cause as { working_directory?: string; exceptions?: Record<string, unknown>[] };
  doc.cause = {
    working_directory: c.working_directory,
    exceptions: (c.exceptions ?? []).slice(0, 1).map((e) => ({
      id: e.id,
      type: e.type,
      remote: e.remote,
      message: typeof e.message === 'string' ? e.message.slice(0, 1024) : undefined,
    })),
  };
}
