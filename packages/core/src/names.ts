/** The longest entity name X-Ray accepts. */
export const MAX_NAME_LENGTH = 200;

/**
 * Characters the segment-document schema allows in a name: letters, numbers, white space and
 * `_ . : / % & # = + - @`. The Python SDK removes only `? ; * ( ) ! $ ~ ^ < >`; removing everything
 * else the schema rejects too keeps every document valid (for example `[::1]:3000` as a host name).
 */
const NOT_ALLOWED = /[^\p{L}\p{Z}\p{N}_.:/%&#=+\-@]/gu;
const NOT_ALLOWED_TEST = /[^\p{L}\p{Z}\p{N}_.:/%&#=+\-@]/u;

/** Cache of names already checked (route and method names repeat on every request). @internal */
const cache = new Map<string, string>();
const CACHE_LIMIT = 2000;

/**
 * Makes a name X-Ray accepts: characters outside the schema's set are removed and the result is
 * cut to 200 characters; an empty result gives `fallback`.
 */
export function sanitizeName(name: unknown, fallback: string): string {
  if (typeof name !== 'string') return fallback;
  const hit = cache.get(name);
  if (hit !== undefined) return hit || fallback;
  let clean = NOT_ALLOWED_TEST.test(name) ? name.replace(NOT_ALLOWED, '') : name;
  if (clean.length > MAX_NAME_LENGTH) clean = Array.from(clean).slice(0, MAX_NAME_LENGTH).join('');
  clean = clean.trim();
  if (cache.size < CACHE_LIMIT) cache.set(name, clean);
  return clean || fallback;
}

/** Cuts a string to at most `max` UTF-16 code units without splitting a surrogate pair. @internal */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = max;
  const code = text.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end--;
  return text.slice(0, end);
}

/** Cache of JSON string literals of names and namespaces (they repeat on every request). @internal */
const quoted = new Map<string, string>();

/** `JSON.stringify(text)` for a string, cached for the names and namespaces that repeat. @internal */
export function quoteJson(text: string): string {
  let json = quoted.get(text);
  if (json === undefined) {
    json = JSON.stringify(text);
    if (quoted.size < CACHE_LIMIT && text.length <= MAX_NAME_LENGTH) quoted.set(text, json);
  }
  return json;
}
