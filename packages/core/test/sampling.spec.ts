import { describe, expect, it } from '@jest/globals';

import { LocalSampler } from '../src/sampling/local-sampler.js';

describe('LocalSampler', () => {
  it('should take exactly fixed_target per second however many requests arrive together', async () => {
    const sampler = new LocalSampler({ version: 2, rules: [], default: { fixed_target: 7, rate: 0 } });
    // 10,000 concurrent requests inside one second (each decision runs in its own microtask).
    const start = Date.now();
    const decisions = await Promise.all(Array.from({ length: 10_000 }, () => Promise.resolve().then(() => sampler.shouldTrace({}))));
    const elapsedSecondBoundary = Math.floor(Date.now() / 1000) !== Math.floor(start / 1000);
    const sampled = decisions.filter(Boolean).length;
    // A run that crosses a second boundary may take a second reservoir.
    expect(elapsedSecondBoundary ? [7, 14] : [7]).toContain(sampled);
  });

  it('should refill the reservoir each wall-clock second, then sample the rate', () => {
    let now = 1_700_000_000_000;
    let draws = 0;
    const sampler = new LocalSampler(undefined, { now: () => now, random: () => (draws++ % 20 === 0 ? 0.01 : 0.5) });
    const perSecond: number[] = [];
    for (let s = 0; s < 5; s++) {
      let n = 0;
      for (let i = 0; i < 101; i++) if (sampler.shouldTrace({ method: 'GET', path: '/' })) n++;
      perSecond.push(n);
      now += 1000;
    }
    // The default rule: 1 from the reservoir, then 5 % of the other 100 (every 20th draw is under 0.05).
    expect(perSecond).toEqual([6, 6, 6, 6, 6]);
  });

  it('should keep separate reservoirs per rule and match in file order', () => {
    const sampler = new LocalSampler(
      {
        version: 2,
        default: { fixed_target: 1, rate: 0 },
        rules: [
          { host: '*', http_method: 'POST', url_path: '/checkout', fixed_target: 2, rate: 0 },
          { host: '*', http_method: '*', url_path: '/checkout', fixed_target: 0, rate: 0 },
        ],
      },
      { now: () => 0 },
    );
    const post = Array.from({ length: 5 }, () => sampler.shouldTrace({ method: 'POST', path: '/checkout' }));
    const get = Array.from({ length: 5 }, () => sampler.shouldTrace({ method: 'GET', path: '/checkout' }));
    const other = Array.from({ length: 5 }, () => sampler.shouldTrace({ method: 'GET', path: '/' }));
    expect(post.filter(Boolean)).toHaveLength(2);
    expect(get.filter(Boolean)).toHaveLength(0);
    expect(other.filter(Boolean)).toHaveLength(1);
    expect(sampler.matchingRule({ method: 'post', path: '/CHECKOUT' })?.http_method).toBe('POST');
  });
});
