import { describe, expect, it } from '@jest/globals';

import { newTraceId } from '../src/ids.js';

describe('smoke', () => {
  it('should make a trace id', () => {
    expect(newTraceId()).toMatch(/^1-[0-9a-f]{8}-[0-9a-f]{24}$/);
  });
});
