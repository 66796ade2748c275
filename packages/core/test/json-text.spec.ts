import { describe, expect, it } from '@jest/globals';

import { EpochText, formatEpoch } from '../src/clock.js';
import { awsAndServiceText, entityHead, namespaceTail, statusIndex, statusText } from '../src/model/json-text.js';
import { Segment } from '../src/model/segment.js';
import { Subsegment } from '../src/model/subsegment.js';

describe('json-text: the cached pieces of documents', () => {
  it('writes the head of an entity with and without the comma of a later list item', () => {
    expect(entityHead('orders', false)).toBe('{"name":"orders","id":"');
    expect(entityHead('orders', true)).toBe(',{"name":"orders","id":"');
    expect(entityHead('a "quoted" ü', false)).toBe(`{"name":${JSON.stringify('a "quoted" ü')},"id":"`);
    const long = 'x'.repeat(500);
    expect(entityHead(long, true)).toBe(`,{"name":"${long}","id":"`);
  });

  it('writes times after their prefix as formatEpoch does', () => {
    const start = new EpochText('","start_time":');
    for (const t of [1795296576.000001, 1795296576 + 0.9999996, 1700000000.5, 0, 9e9 + 1, -1]) {
      expect(start.write(t)).toBe(`","start_time":${formatEpoch(t)}`);
    }
    // The cached second follows the value, in both directions.
    expect(start.write(1700000001.25)).toBe('","start_time":1700000001.250000');
    expect(start.write(1700000000.75)).toBe('","start_time":1700000000.750000');
  });

  it('has the status and flags of every combination, with the http key when a block follows', () => {
    for (const inProgress of [false, true])
      for (const fault of [false, true])
        for (const error of [false, true])
          for (const throttle of [false, true])
            for (const http of [false, true]) {
              const expected =
                `,"in_progress":${inProgress}` + (fault ? ',"fault":true' : '') + (error ? ',"error":true' : '') + (throttle ? ',"throttle":true' : '') + (http ? ',"http":' : '');
              expect(statusText[statusIndex(inProgress, fault, error, throttle, http)]).toBe(expected);
            }
    expect(new Set(statusText).size).toBe(32);
  });

  it('ends a subsegment with its namespace and the closing brace', () => {
    expect(namespaceTail('remote')).toBe(',"namespace":"remote"}');
    expect(namespaceTail('a"b')).toBe(',"namespace":"a\\"b"}');
    expect(namespaceTail(undefined)).toBe('}');
  });

  it('keeps the aws and service text of each pair of blocks', () => {
    const aws = { xray: { sdk: 'x' } };
    expect(awsAndServiceText(aws, { runtime: 'node' })).toBe(',"aws":{"xray":{"sdk":"x"}},"service":{"runtime":"node"}');
    expect(awsAndServiceText(aws, { runtime: 'deno' })).toBe(',"aws":{"xray":{"sdk":"x"}},"service":{"runtime":"deno"}');
  });

  it('gives the same document as the fields written one by one', () => {
    const segment = new Segment('svc', { id: '0123456789abcdef', traceId: '1-5759e988-bd862e3fe1be46a994272793', startTime: 1700000000.1, aws: { a: 1 }, service: { s: 2 } });
    segment.setHttpResponse({ status: 503 });
    const first = new Subsegment('first', segment, { startTime: 1700000000.2 });
    first.close(1700000000.3);
    const second = new Subsegment('second', segment, { namespace: 'remote', startTime: 1700000000.4 });
    second.traced = true;
    const inner = new Subsegment('inner', second, { startTime: 1700000000.5 });
    segment.close(1700000001);
    expect(segment.serialize()).toBe(
      '{"name":"svc","id":"0123456789abcdef","trace_id":"1-5759e988-bd862e3fe1be46a994272793","start_time":1700000000.100000,' +
        '"end_time":1700000001.000000,"in_progress":false,"fault":true,"http":{"response":{"status":503}},"aws":{"a":1},"service":{"s":2},"subsegments":[' +
        `{"name":"first","id":"${first.id}","start_time":1700000000.200000,"end_time":1700000000.300000,"in_progress":false,"namespace":"local"},` +
        `{"name":"second","id":"${second.id}","start_time":1700000000.400000,"in_progress":true,"namespace":"remote","traced":true,"subsegments":[` +
        `{"name":"inner","id":"${inner.id}","start_time":1700000000.500000,"in_progress":true,"namespace":"local"}]}]}`,
    );
    expect(inner.serialize(true)).toBe(
      `{"name":"inner","id":"${inner.id}","start_time":1700000000.500000,"in_progress":true,"namespace":"local","type":"subsegment","trace_id":"1-5759e988-bd862e3fe1be46a994272793","parent_id":"${second.id}"}`,
    );
  });
});
