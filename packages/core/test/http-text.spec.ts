import { describe, expect, it } from '@jest/globals';

import type { HttpRequestData, HttpResponseData } from '../src/model/document-fields.js';
import { httpText } from '../src/model/http-text.js';
import { Segment } from '../src/model/segment.js';
import { Subsegment } from '../src/model/subsegment.js';

/** What JSON.stringify writes for the block, request first (as the entity puts them). */
function stringified(request: HttpRequestData | undefined, response: HttpResponseData | undefined): string {
  const http: Record<string, unknown> = {};
  if (request !== undefined) http.request = request;
  if (response !== undefined) http.response = response;
  return JSON.stringify(http);
}

const STRING_KEYS = ['method', 'url', 'client_ip', 'user_agent'] as const;

describe('http-text: the http block written without JSON.stringify', () => {
  it('writes what JSON.stringify writes for every combination of the fields setHttpRequest and setHttpResponse keep', () => {
    const values = { method: 'GET', url: 'http://127.0.0.1:3000/orders/1?x=1', client_ip: '127.0.0.1', user_agent: 'curl/8.5.0' };
    const responses: (HttpResponseData | undefined)[] = [undefined, {}, { status: 200 }, { content_length: 11 }, { status: 503, content_length: 0 }, { status: 200, content_length: 1.5 }];
    let checked = 0;
    for (let mask = 0; mask < 64; mask++) {
      const request: HttpRequestData = {};
      STRING_KEYS.forEach((key, i) => {
        if (mask & (1 << i)) request[key] = values[key];
      });
      if (mask & 16) request.x_forwarded_for = true;
      if (mask & 32) request.traced = true;
      for (const response of responses) {
        expect(httpText(request, response)).toBe(stringified(request, response));
        checked++;
      }
    }
    for (const response of responses) expect(httpText(undefined, response)).toBe(stringified(undefined, response));
    expect(checked).toBe(64 * responses.length);
  });

  it('escapes what JSON must escape in every string field, also right after the same field was plain', () => {
    const hostile = ['a"b', 'back\\slash', 'tab\there', 'nul\u0000', 'line\nbreak', 'lone \ud800 surrogate', 'pair 😀', 'ünïcödé', '\u007f', ''];
    for (const key of STRING_KEYS) {
      for (const value of hostile) {
        // The plain value first, so that a remembered plain value is there when the next comes.
        const plain: HttpRequestData = { [key]: 'plain' };
        expect(httpText(plain, undefined)).toBe(stringified(plain, undefined));
        const request: HttpRequestData = { [key]: value };
        expect(httpText(request, { status: 200 })).toBe(stringified(request, { status: 200 }));
        expect(JSON.parse(httpText(request, undefined))).toEqual({ request: { [key]: value } });
      }
    }
  });

  it('is the http block of a document as recorded, and the caller object once something read or set `http`', () => {
    const segment = new Segment('web');
    segment.setHttpRequest({ method: 'POST', url: 'http://h/p', client_ip: '10.0.0.1', user_agent: 'ua "quoted"', x_forwarded_for: true });
    segment.setHttpResponse({ status: 201, content_length: 7 });
    const expected = { request: { method: 'POST', url: 'http://h/p', client_ip: '10.0.0.1', user_agent: 'ua "quoted"', x_forwarded_for: true }, response: { status: 201, content_length: 7 } };
    expect(segment.toJSON().http).toEqual(expected);
    // Read: from now on the block is that object, changes included.
    const http = segment.http!;
    expect(http).toEqual(expected);
    http.request!.url = 'http://h/changed';
    (http as Record<string, unknown>).extra = { kept: true };
    expect(segment.toJSON().http).toEqual({ ...expected, request: { ...expected.request, url: 'http://h/changed' }, extra: { kept: true } });
    // A later recording goes into that object.
    segment.setHttpResponse({ status: 500 });
    expect(segment.http!.response).toEqual({ status: 500 });
    expect(segment.toJSON().http).toMatchObject({ response: { status: 500 } });
    // Set: that object, or none.
    segment.http = { request: { method: 'GET' } };
    expect(segment.toJSON().http).toEqual({ request: { method: 'GET' } });
    segment.http = undefined;
    expect(segment.toJSON()).not.toHaveProperty('http');
    expect(segment.serialize()).not.toContain('"http"');
  });

  it('keeps a subsegment block recorded apart until read, and marks a traced callee in it', () => {
    const segment = new Segment('web');
    const call = new Subsegment('downstream', segment, { namespace: 'remote' });
    call.setHttpResponse({ status: 404 });
    call.setHttpRequest({ method: 'GET', url: 'http://callee/x' });
    call.httpRequest!.traced = true;
    expect(call.httpResponse).toEqual({ status: 404 });
    expect(call.toStandaloneJSON().http).toEqual({ request: { method: 'GET', url: 'http://callee/x', traced: true }, response: { status: 404 } });
    expect(call.http).toEqual({ request: { method: 'GET', url: 'http://callee/x', traced: true }, response: { status: 404 } });
    expect(call.httpRequest).toBe(call.http!.request);
  });
});
