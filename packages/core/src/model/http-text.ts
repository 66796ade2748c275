import type { HttpRequestData, HttpResponseData } from './document-fields.js';

/**
 * The JSON text of an `http` block that `setHttpRequest` and `setHttpResponse` recorded, written
 * field by field. `JSON.stringify` of that block was the most expensive part of a request segment's
 * document (about 5,800 of its 17,500 instructions on Node 24: a generic walk of three objects and a
 * character-by-character check of every string); here the fields are known, and a string is checked
 * for what JSON must escape with one regular expression and written as it is when nothing is found.
 * The text is what `JSON.stringify` writes for the same block, with `request` before `response` (the
 * order of the keys of a JSON object carries no meaning).
 *
 * Only blocks the entity recorded itself come here: once something outside reads or sets `http`, it
 * may hold anything, and it is serialized with `JSON.stringify` (see `Entity.http`).
 * @internal
 */

/** What JSON must escape: `"`, `\`, control characters, and lone surrogates (a valid pair matches too, and takes the slow way). */
// eslint-disable-next-line no-control-regex -- control characters are what JSON must escape
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/** The inside of the JSON string of `value` (without its quotes). */
function inner(value: string): string {
  return NEEDS_ESCAPE.test(value) ? JSON.stringify(value).slice(1, -1) : value;
}

/**
 * The inside of the JSON string of a field whose values repeat from one request to the next (the same
 * client, the same few methods): the last value found plain (nothing to escape) is compared instead
 * of tested again (a test costs about 300 instructions on Node 24).
 */
class PlainField {
  private last = '';

  text(value: string): string {
    if (value === this.last) return value;
    const text = inner(value);
    if (text === value) this.last = value;
    return text;
  }
}

const method = new PlainField();
const client = new PlainField();
const agent = new PlainField();

/** `,"http":`'s value: `{"request":{…},"response":{…}}` with the parts that are there. @internal */
export function httpText(request: HttpRequestData | undefined, response: HttpResponseData | undefined): string {
  if (request === undefined) return response === undefined ? '{}' : '{"response":' + responseText(response, '}}');
  // The keys in the order setHttpRequest puts them. Each piece before a string value holds the
  // closing quote of the string before it (or the opening of the block) and the key, so that a
  // field costs two pieces of text.
  const { method: verb, url, client_ip, user_agent } = request;
  let s = '';
  let open = false;
  if (typeof verb === 'string') {
    s = '{"request":{"method":"' + method.text(verb);
    open = true;
  }
  if (typeof url === 'string') {
    s += (open ? '","url":"' : '{"request":{"url":"') + inner(url);
    open = true;
  }
  if (typeof client_ip === 'string') {
    s += (open ? '","client_ip":"' : '{"request":{"client_ip":"') + client.text(client_ip);
    open = true;
  }
  if (typeof user_agent === 'string') {
    s += (open ? '","user_agent":"' : '{"request":{"user_agent":"') + agent.text(user_agent);
    open = true;
  }
  // `open`: a string value is waiting for its closing quote. `fields`: the block has a field.
  let fields = open;
  if (request.x_forwarded_for === true) {
    s += open ? '","x_forwarded_for":true' : '{"request":{"x_forwarded_for":true';
    open = false;
    fields = true;
  }
  if (request.traced === true) {
    s += open ? '","traced":true' : fields ? ',"traced":true' : '{"request":{"traced":true';
    open = false;
    fields = true;
  }
  if (response === undefined) return s + (open ? '"}}' : fields ? '}}' : '{"request":{}}');
  return s + (open ? '"},"response":' : fields ? '},"response":' : '{"request":{},"response":') + responseText(response, '}}');
}

/** `{"status":…,"content_length":…}` with the fields that are there (finite numbers, as setHttpResponse keeps them), then `end`. */
function responseText(response: HttpResponseData, end: string): string {
  const { status, content_length } = response;
  const hasStatus = typeof status === 'number' && Number.isFinite(status);
  const hasLength = typeof content_length === 'number' && Number.isFinite(content_length);
  if (hasStatus) return hasLength ? `{"status":${status},"content_length":${content_length}${end}` : `{"status":${status}${end}`;
  return hasLength ? `{"content_length":${content_length}${end}` : `{${end}`;
}
