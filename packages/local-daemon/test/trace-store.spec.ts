import { describe, expect, it } from '@jest/globals';

import { TraceStore } from '../src/trace-store.js';

describe('TraceStore', () => {
  it('should take as the root the segment whose parent is no entity of the trace, whatever arrives first', () => {
    const store = new TraceStore(10);
    const trace = '1-5759e988-bd862e3fe1be46a994272793';
    // The downstream service's segment (its parent is a nested subsegment of the caller) arrives first.
    store.add({ name: 'catalog', id: 'c000000000000001', trace_id: trace, parent_id: 'a000000000000002', start_time: 2, end_time: 3, in_progress: false, http: { request: { url: 'http://catalog/x' } } });
    store.add({
      name: 'demo', id: 'a000000000000001', trace_id: trace, parent_id: 'f000000000000000', start_time: 1, end_time: 4, in_progress: false,
      http: { request: { method: 'GET', url: 'http://demo/products/1' } },
      subsegments: [{ name: 'call', id: 'a000000000000002', start_time: 1.5, end_time: 3.5, in_progress: false, namespace: 'remote' }],
    });
    const [summary] = store.query();
    expect(summary).toMatchObject({ service: 'demo', url: 'http://demo/products/1', services: ['catalog', 'demo'] });
  });
});
