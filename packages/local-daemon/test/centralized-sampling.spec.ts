import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, utimesSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from '@jest/globals';
import { activeEntity, CentralizedSampler, InMemoryEmitter, LocalSampler, parseDaemonAddress, Recorder, type SamplerTimers } from '@xrayjs/core';

import { LocalDaemon } from '../src/daemon.js';

/** A clock whose timers fire only when advanced; each fired poll is awaited (its real TCP round trip). */
class FakeClock implements SamplerTimers {
  nowMs = 1_800_000_000_000;
  private timers = new Map<number, { at: number; fn: () => unknown }>();
  private next = 1;
  now = (): number => this.nowMs;
  setTimeout(fn: () => unknown, ms: number): unknown {
    const id = this.next++;
    this.timers.set(id, { at: this.nowMs + ms, fn });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }
  async advance(ms: number): Promise<void> {
    const end = this.nowMs + ms;
    for (;;) {
      const due = [...this.timers.entries()].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.timers.delete(due[0]);
      this.nowMs = Math.max(this.nowMs, due[1].at);
      await due[1].fn();
    }
    this.nowMs = end;
  }
  pending(): number[] {
    return [...this.timers.values()].map((t) => t.at - this.nowMs).sort((a, b) => a - b);
  }
}

const rule = (name: string, priority: number, fields: Record<string, unknown> = {}) => ({
  RuleName: name, Priority: priority, FixedRate: 0, ReservoirSize: 0, ServiceName: '*', ServiceType: '*', Host: '*',
  HTTPMethod: '*', URLPath: '*', ResourceARN: '*', Version: 1, ...fields,
});

const NEVER = new LocalSampler({ version: 2, rules: [], default: { fixed_target: 0, rate: 0 } });

describe('centralized sampling against the local daemon over TCP', () => {
  let daemon: LocalDaemon | undefined;
  let sampler: CentralizedSampler | undefined;
  const servers: Server[] = [];
  const logged: string[] = [];
  afterEach(async () => {
    sampler?.stop();
    await daemon?.stop();
    for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
    logged.length = 0;
  });

  async function setUp(rules: object[], sampling: object = {}, samplerOptions: object | ((clock: FakeClock) => object) = {}) {
    const clock = new FakeClock();
    if (typeof samplerOptions === 'function') samplerOptions = samplerOptions(clock);
    daemon = await LocalDaemon.start({ address: '127.0.0.1:0', viewerPort: false, sampling: { now: clock.now, pageSize: 2, ...sampling } });
    daemon.samplingApi.setRules(rules);
    sampler = new CentralizedSampler({ endpoint: parseDaemonAddress(daemon.daemonAddress).tcp, fallback: NEVER, now: clock.now, random: () => 0.5, timers: clock, ...samplerOptions });
    sampler.start();
    return { clock, sampler, daemon };
  }

  it('should read every page of rules, sort them by priority then name, and match every field', async () => {
    const { sampler, daemon } = await setUp([
      rule('by-path', 5, { URLPath: '/orders/*', FixedRate: 1 }),
      rule('by-method', 5, { HTTPMethod: 'DELETE', FixedRate: 1 }),
      rule('by-host', 3, { Host: '*.example.com', FixedRate: 1 }),
      rule('by-service', 4, { ServiceName: 'billing', FixedRate: 1 }),
      rule('by-type', 6, { ServiceType: 'AWS::ECS::Container', FixedRate: 1 }),
      rule('by-arn', 7, { ResourceARN: 'arn:aws:ecs:*:service/shop/*', FixedRate: 1 }),
      rule('by-attribute', 8, { Attributes: { 'x-tenant': 'gold-*' }, FixedRate: 1 }),
      rule('by-empty-type', 9, { ServiceType: '', FixedRate: 1 }), // the API allows "": it matches only an empty (or unknown) value
      rule('Default', 10000, { FixedRate: 0, ReservoirSize: 0 }),
    ]);
    expect(sampler.shouldTrace({ path: '/' })).toBe(false); // before the rules arrive: the local rules (never)
    await sampler.whenStarted();
    expect(daemon.stats().samplingRuleRequests).toBe(5); // 9 rules in pages of 2
    expect(sampler.stats().rules.map((r) => r.ruleName)).toEqual(['by-host', 'by-service', 'by-method', 'by-path', 'by-type', 'by-arn', 'by-attribute', 'by-empty-type', 'Default']);
    const base = { service: 'shop', host: 'shop.local', method: 'GET', path: '/', serviceType: 'AWS::EC2::Instance' };
    expect(sampler.shouldTrace({ ...base, path: '/ORDERS/7' })).toBe('by-path');
    expect(sampler.shouldTrace({ ...base, method: 'delete', path: '/orders/7' })).toBe('by-method'); // same priority: name order
    expect(sampler.shouldTrace({ ...base, host: 'api.example.com', service: 'billing' })).toBe('by-host');
    expect(sampler.shouldTrace({ ...base, service: 'Billing' })).toBe('by-service');
    expect(sampler.shouldTrace({ ...base, serviceType: 'AWS::ECS::Container' })).toBe('by-type');
    expect(sampler.shouldTrace({ ...base, resourceArn: 'arn:aws:ecs:eu-west-1:1:service/shop/api' })).toBe('by-arn');
    expect(sampler.shouldTrace({ ...base, headers: { 'x-tenant': 'gold-7' } })).toBe('by-attribute');
    expect(sampler.shouldTrace({ ...base, attributes: { 'x-tenant': 'gold-1' } })).toBe('by-attribute');
    expect(sampler.shouldTrace({ ...base, headers: { 'x-tenant': 'silver' } })).toBe(false); // Default: 0 and 0
    // Unknown fields match (the Python SDK's rule): no host, no method, no path.
    expect(sampler.shouldTrace({ service: 'other' })).toBe('by-host');
    expect(sampler.stats().mode).toBe('centralized');
  });

  it('should borrow one a second before a target, take the quota of the target, and honour a quota of 0', async () => {
    const { clock, sampler, daemon } = await setUp([rule('Default', 10000, { ReservoirSize: 6, FixedRate: 0 })], { quotaTtlSeconds: 30 });
    sampler.shouldTrace({});
    await sampler.whenStarted();
    const inOneSecond = () => Array.from({ length: 50 }, () => sampler.shouldTrace({})).filter(Boolean).length;
    clock.nowMs = Math.ceil(clock.nowMs / 1000) * 1000; // the start of a second
    expect(inOneSecond()).toBe(1); // borrowing: no target yet
    await clock.advance(10_100); // the first target poll
    expect(daemon.stats().samplingTargetRequests).toBe(1);
    clock.nowMs = Math.ceil(clock.nowMs / 1000) * 1000;
    expect(inOneSecond()).toBe(6); // the whole reservoir: the only client
    expect(sampler.stats().rules[0]).toMatchObject({ ruleName: 'Default', reservoirQuota: 6, intervalSeconds: 10 });
    // The daemon stops answering targets (rules poll keeps working): after the TTL the quota expires.
    const report = daemon.samplingApi.report()[0];
    expect(report.clients).toHaveLength(1);
    expect(report.requests).toBe(50); // the first decision came before the rules (local rules)
    daemon.samplingApi.setRules([rule('Default', 10000, { ReservoirSize: 0, FixedRate: 0 })]);
    await clock.advance(10_000); // targets: quota 0 now, and LastRuleModification moved: rules fetched again
    expect(sampler.stats().rules[0]).toMatchObject({ reservoirSize: 0, reservoirQuota: 0 });
    clock.nowMs = Math.ceil(clock.nowMs / 1000) * 1000;
    expect(inOneSecond()).toBe(0); // a quota of 0 is a quota (not ignored, unlike the Node SDK)
  });

  it('should borrow again once a quota TTL has passed (TTL 0 included)', async () => {
    const { clock, sampler } = await setUp([rule('Default', 10000, { ReservoirSize: 4, FixedRate: 0 })], { quotaTtlSeconds: 0 });
    sampler.shouldTrace({});
    await sampler.whenStarted();
    sampler.shouldTrace({}); // matched: reported at the next poll
    await clock.advance(10_100);
    expect(sampler.stats().rules[0].reservoirQuota).toBe(4);
    clock.nowMs = Math.ceil(clock.nowMs / 1000) * 1000 + 1;
    // The TTL is the poll's second: expired, so the rule borrows one a second instead of taking 4.
    expect(Array.from({ length: 20 }, () => sampler.shouldTrace({})).filter(Boolean).length).toBe(1);
  });

  it('should report only rules that had requests since their last report, and not miss a poll that fires a little early', async () => {
    // The event loop's timers run on a cached clock: a poll may fire a few ms before Date.now() says.
    const early = (clock: FakeClock): SamplerTimers => ({ setTimeout: (fn, ms) => clock.setTimeout(fn, ms - 5), clearTimeout: (h) => clock.clearTimeout(h) });
    const { clock, sampler, daemon } = await setUp([rule('a', 1, { URLPath: '/a', ReservoirSize: 1 }), rule('Default', 10000, { ReservoirSize: 1 })], {}, (c) => ({ timers: early(c), targetsJitterMs: 0 }));
    sampler.shouldTrace({ path: '/a' });
    await sampler.whenStarted();
    const reported = () => daemon.samplingApi.report().map((r) => [r.rule.RuleName, r.requests]);
    for (let poll = 1; poll <= 3; poll++) {
      sampler.shouldTrace({ path: '/a' });
      await clock.advance(10_000);
      expect(daemon.stats().samplingTargetRequests).toBe(poll); // every poll, although each fired 5 ms early
    }
    expect(reported()).toEqual([['a', 3], ['Default', 0]]); // Default never matched: never reported
    await clock.advance(30_000); // no request since: nothing to report
    expect(daemon.stats().samplingTargetRequests).toBe(3);
    expect(daemon.samplingApi.report()[0].clients).toHaveLength(1); // its quota (60 s) still holds
    await clock.advance(40_000);
    expect(daemon.stats().samplingTargetRequests).toBe(3);
    expect(daemon.samplingApi.report()[0].clients).toHaveLength(0); // the quota ran out: no share held any more
  });

  it('should begin again after stop() and start() (a recorder configured anew)', async () => {
    const { clock, sampler, daemon } = await setUp([rule('all', 1, { FixedRate: 1 })]);
    sampler.shouldTrace({});
    await sampler.whenStarted();
    expect(sampler.shouldTrace({})).toBe('all');
    sampler.stop();
    expect(clock.pending()).toEqual([]); // no poller left
    expect(sampler.shouldTrace({})).toBe(false); // stopped: the local rules (never)
    sampler.start();
    const fetches = daemon.stats().samplingRuleRequests;
    sampler.shouldTrace({});
    await sampler.whenStarted();
    expect(daemon.stats().samplingRuleRequests).toBe(fetches + 1);
    expect(sampler.shouldTrace({})).toBe('all');
    expect(clock.pending().map((ms) => Math.round(ms / 1000))).toEqual([10, 303]); // the targets and the rules pollers (random 0.5: 300 s + 2.5 s)
  });

  it('should not flap while SamplingTargets keeps failing: one switch to the local rules, one back when it answers', async () => {
    const failing = { on: true };
    const { clock, sampler, daemon } = await setUp([rule('all', 1, { FixedRate: 1 })]);
    const api = daemon.samplingApi as unknown as { getSamplingTargets: (body: unknown) => unknown };
    const real = api.getSamplingTargets.bind(daemon.samplingApi);
    api.getSamplingTargets = (body) => {
      if (failing.on) throw new Error('no permission for GetSamplingTargets'); // a 500; GetSamplingRules still answers
      return real(body);
    };
    sampler.shouldTrace({});
    await sampler.whenStarted();
    const modes: string[] = [];
    for (let i = 0; i < 30; i++) {
      for (let j = 0; j < 5; j++) sampler.shouldTrace({});
      await clock.advance(10_100); // a target poll in each step
      modes.push(sampler.stats().mode[0]);
    }
    expect(modes.join('')).toBe('f'.repeat(30)); // the retries of the rules succeed, but no flip back
    expect(sampler.stats()).toMatchObject({ fallbacks: 1, recoveries: 0 });
    expect(sampler.stats().targetPolls).toBeGreaterThanOrEqual(30); // a probe at every poll
    failing.on = false;
    await clock.advance(10_100);
    expect(sampler.stats()).toMatchObject({ mode: 'centralized', fallbacks: 1, recoveries: 1 });
  });

  it('should ignore what a stopped run had under way: no failure counted, one poller chain after start()', async () => {
    const server = createServer((req) => req.resume()); // accepts, never answers
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const clock = new FakeClock();
    sampler = new CentralizedSampler({ endpoint: { host: '127.0.0.1', port: (server.address() as { port: number }).port }, now: clock.now, timers: clock, fallback: NEVER });
    sampler.start();
    sampler.shouldTrace({}); // the first fetch is under way, and never answered
    const first = sampler.whenStarted();
    sampler.stop(); // aborts it
    sampler.start();
    sampler.shouldTrace({});
    await first;
    await new Promise((r) => setTimeout(r, 50));
    expect(sampler.stats()).toMatchObject({ ruleFetchFailures: 0, fallbacks: 0 });
    expect(clock.pending()).toHaveLength(1); // the targets poller of the new run (its fetch is still under way)
  });

  it('should fetch the rules again at once when a decision finds them expired (a clock step), and use them again', async () => {
    const { clock, sampler, daemon } = await setUp([rule('all', 1, { FixedRate: 1 })]);
    sampler.shouldTrace({});
    await sampler.whenStarted();
    const fetches = daemon.stats().samplingRuleRequests;
    clock.nowMs += 2 * 3_600_000; // no timer fired: a suspended laptop
    expect(sampler.shouldTrace({})).toBe(false); // the local rules (never)
    expect(sampler.stats()).toMatchObject({ mode: 'fallback', fallbackReason: expect.stringMatching(/more than 60 minutes ago/) });
    const deadline = Date.now() + 5000; // the fetch the decision started (no timer fired)
    while (sampler.stats().mode !== 'centralized' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(daemon.stats().samplingRuleRequests).toBe(fetches + 1);
    expect(sampler.shouldTrace({})).toBe('all');
  });

  it('should apply a target, or put back the counts of a failed report, on the rule now in use when the rules were fetched again during the call', async () => {
    let targets: 'slow' | 'slow-error' = 'slow';
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        if (req.url === '/GetSamplingRules') return res.end(JSON.stringify({ SamplingRuleRecords: [{ SamplingRule: rule('all', 1, { ReservoirSize: 9 }) }] }));
        setTimeout(() => {
          if (targets === 'slow-error') return res.writeHead(500).end('{}');
          res.end(JSON.stringify({ SamplingTargetDocuments: [{ RuleName: 'all', FixedRate: 0, ReservoirQuota: 7, ReservoirQuotaTTL: 1_900_000_000, Interval: 10 }], UnprocessedStatistics: [] }));
        }, 150);
      });
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const clock = new FakeClock();
    sampler = new CentralizedSampler({ endpoint: { host: '127.0.0.1', port: (server.address() as { port: number }).port }, now: clock.now, timers: clock, fallback: NEVER });
    sampler.start();
    sampler.shouldTrace({});
    await sampler.whenStarted();
    for (let i = 0; i < 3; i++) sampler.shouldTrace({});
    let poll = sampler.pollTargets(); // answered in 150 ms
    await sampler.refreshRules(); // new rule objects meanwhile
    await poll;
    expect(sampler.stats().rules[0]).toMatchObject({ ruleName: 'all', reservoirQuota: 7 });
    targets = 'slow-error';
    for (let i = 0; i < 4; i++) sampler.shouldTrace({});
    clock.nowMs += 11_000; // the rule's interval has passed
    poll = sampler.pollTargets();
    await sampler.refreshRules();
    await poll;
    expect(sampler.stats().rules[0]).toMatchObject({ ruleName: 'all', requestCount: 4 }); // reported again with the next poll
  });

  it('should run its pollers outside the trace of the request that made the first decision', async () => {
    const contexts: unknown[] = [];
    const recorder = new Recorder().configure({ AWS_XRAY_TRACING_NAME: 'shop', EMITTER: new InMemoryEmitter(), SAMPLING: false, LOGGER: { error: () => {}, warn: () => contexts.push(activeEntity() ?? 'none'), log: () => {} } });
    const clock = new FakeClock();
    const timers: SamplerTimers = { setTimeout: (fn, ms) => (contexts.push(activeEntity() ?? 'none'), clock.setTimeout(fn, ms)), clearTimeout: (h) => clock.clearTimeout(h) };
    sampler = new CentralizedSampler({ endpoint: { host: '127.0.0.1', port: 9 }, now: clock.now, timers, fallback: NEVER });
    sampler.start();
    const segment = recorder.beginSegment('request');
    await recorder.runWith(segment, () => {
      sampler!.shouldTrace({});
      return sampler!.whenStarted(); // refused: the switch is logged
    });
    segment.close();
    expect(contexts.length).toBeGreaterThanOrEqual(3); // the targets timer, the log line, the retry timer
    expect(contexts.every((c) => c === 'none')).toBe(true);
    await recorder.shutdown();
  });

  it('should split one rule\u2019s reservoir between two processes that report to it', async () => {
    daemon = await LocalDaemon.start({ address: '127.0.0.1:0', viewerPort: false, sampling: { intervalSeconds: 1 } });
    daemon.samplingApi.setRules([rule('Default', 10000, { ReservoirSize: 5, FixedRate: 0 })]);
    const script = `
      const { CentralizedSampler, LocalSampler, parseDaemonAddress } = require('@xrayjs/core');
      const s = new CentralizedSampler({ endpoint: parseDaemonAddress(process.argv[1]).tcp, targetsIntervalMs: 300, targetsJitterMs: 0, fallback: new LocalSampler({ version: 2, rules: [], default: { fixed_target: 0, rate: 0 } }) });
      s.shouldTrace({});
      setInterval(() => {
        s.shouldTrace({});
        const q = s.stats().rules[0]?.reservoirQuota;
        if (q !== undefined) process.stdout.write(q + '\\n');
      }, 100);`;
    const children = [0, 1].map(() => spawn(process.execPath, ['-e', script, daemon!.daemonAddress], { cwd: fileURLToPath(new URL('.', import.meta.url)), stdio: ['ignore', 'pipe', 'inherit'] }));
    const last = children.map(() => -1);
    children.forEach((c, i) => c.stdout.on('data', (d: Buffer) => (last[i] = Number(d.toString().trim().split('\n').pop()))));
    try {
      const deadline = Date.now() + 15_000;
      while (Date.now() < deadline && !(last[0] + last[1] === 5 && last[0] > 0 && last[1] > 0)) await new Promise((r) => setTimeout(r, 100));
      expect([...last].sort()).toEqual([2, 3]); // 5 split: floor(5/2) each, the remainder to the first client id
      expect(daemon.samplingApi.report()[0].clients).toHaveLength(2);
    } finally {
      for (const c of children) c.kill();
    }
  });

  it('should fall back to the local rules when the daemon goes away, log the switch once, and come back with it', async () => {
    const { clock, sampler, daemon: d } = await setUp([rule('all', 1, { FixedRate: 1 })], {}, {
      fallback: new LocalSampler({ version: 2, rules: [], default: { fixed_target: 0, rate: 1 } }),
    });
    sampler.shouldTrace({});
    await sampler.whenStarted();
    expect(sampler.shouldTrace({})).toBe('all');
    const address = d.daemonAddress;
    sampler.shouldTrace({}); // the rule has matched: it reports at the next poll
    await d.stop();
    daemon = undefined;
    await clock.advance(10_100); // the target poll fails: connection refused
    expect(sampler.stats()).toMatchObject({ mode: 'fallback', fallbacks: 1, targetPollFailures: 1 });
    expect(sampler.stats().fallbackReason).toMatch(/ECONNREFUSED/);
    expect(sampler.shouldTrace({})).toBe(true); // the local rules (rate 1): no rule name
    await clock.advance(10_000); // the retry of the rules fails as well: still one switch
    expect(sampler.stats().fallbacks).toBe(1);
    // The daemon comes back on the same port.
    const port = Number(address.split(' ')[0].split(':').pop());
    daemon = await LocalDaemon.start({ address: `127.0.0.1:${port}`, viewerPort: false, sampling: { now: clock.now } });
    daemon.samplingApi.setRules([rule('all', 1, { FixedRate: 1 })]);
    await clock.advance(10_500);
    expect(sampler.stats()).toMatchObject({ mode: 'centralized', recoveries: 1 });
    expect(sampler.shouldTrace({})).toBe('all');
  });

  it('should fall back when the rules are older than an hour, and fetch them every 5 minutes plus up to 5 s', async () => {
    const { clock, sampler, daemon: d } = await setUp([rule('all', 1, { FixedRate: 1 })], {}, { random: () => 0.99 });
    sampler.shouldTrace({});
    await sampler.whenStarted();
    const fetches = d.stats().samplingRuleRequests;
    expect(clock.pending()[clock.pending().length - 1]).toBeCloseTo(300_000 + 4950, -1);
    await clock.advance(305_000);
    expect(d.stats().samplingRuleRequests).toBe(fetches + 1);
    // GetSamplingRules now fails with 500 (targets would still work): after an hour, the local rules.
    const api = d.samplingApi as unknown as { getSamplingRules: () => never };
    api.getSamplingRules = () => {
      throw new Error('boom');
    };
    await clock.advance(3_600_000);
    expect(sampler.stats().mode).toBe('fallback');
  });

  it('should survive malformed, oversized, slow and failing answers without throwing into a decision', async () => {
    const answers: Array<(res: ServerResponse) => void> = [
      (res) => res.end('not json'),
      (res) => res.end(JSON.stringify({ SamplingRuleRecords: 'nope' })),
      (res) => res.end(JSON.stringify({ SamplingRuleRecords: [{ SamplingRule: { RuleName: 'x', Version: 2 } }, null, 7] })),
      (res) => res.writeHead(429, { 'content-type': 'application/json' }).end('{"__type":"ThrottledException","message":"Rate exceeded"}'),
      (res) => res.end(Buffer.alloc(5 * 1024 * 1024, 0x20)),
      (res) => res.socket?.destroy(),
      () => {}, // never answers: the timeout
      (res) => res.end(JSON.stringify({ SamplingRuleRecords: [], NextToken: 'same' })),
    ];
    let i = 0;
    const server = createServer((req, res) => {
      req.resume();
      answers[Math.min(i++, answers.length - 1)](res);
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const clock = new FakeClock();
    sampler = new CentralizedSampler({ endpoint: { host: '127.0.0.1', port }, now: clock.now, timers: clock, timeoutMs: 300, fallback: new LocalSampler({ version: 2, rules: [], default: { fixed_target: 0, rate: 1 } }) });
    sampler.start();
    const problems: string[] = [];
    for (let n = 0; n < answers.length; n++) {
      expect(sampler.shouldTrace({ path: '/' })).toBe(true);
      if (n === 0) await sampler.whenStarted();
      else await clock.advance(11_000); // retries come after 10 to 11 s
      problems.push(String(sampler.stats().fallbackReason));
    }
    expect(problems.slice(0, 7)).toEqual([
      expect.stringMatching(/not JSON/),
      expect.stringMatching(/not an array/),
      expect.stringMatching(/no usable sampling rule/),
      expect.stringMatching(/HTTP 429 \(ThrottledException: Rate exceeded\)/),
      expect.stringMatching(/over 4194304 bytes/),
      expect.stringMatching(/ECONNRESET|closed before an answer|socket hang up/),
      expect.stringMatching(/no answer within 300 ms/),
    ]);
    expect(sampler.stats().mode).toBe('fallback');
    expect(sampler.stats().skippedRules[0]).toEqual({ name: 'x', reason: 'Version 2 is not supported (only 1)' });
  });

  it('should never keep the process alive: a script that decides once exits while a call to a silent daemon is under way', async () => {
    const server = createServer(() => {}); // accepts, never answers
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const script = `
      const { CentralizedSampler } = require('@xrayjs/core');
      const s = new CentralizedSampler({ endpoint: { host: '127.0.0.1', port: ${port} } });
      s.shouldTrace({ path: '/' });
      setTimeout(() => process.stdout.write('decided\\n'), 50);`;
    const started = Date.now();
    const child = spawn(process.execPath, ['-e', script], { cwd: fileURLToPath(new URL('.', import.meta.url)), stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(out).toBe('decided\n');
    expect(code).toBe(0);
    expect(Date.now() - started).toBeLessThan(4000); // the call's 5 s timeout did not hold it
  });

  it('should poll for real with short intervals and re-read a rules file that changes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xray-rules-'));
    const file = join(dir, 'rules.json');
    writeFileSync(file, JSON.stringify({ SamplingRuleRecords: [{ SamplingRule: rule('first', 1, { FixedRate: 1 }) }] }));
    daemon = await LocalDaemon.start({ address: '127.0.0.1:0', viewerPort: false, samplingRulesFile: file });
    sampler = new CentralizedSampler({ endpoint: parseDaemonAddress(daemon.daemonAddress).tcp, targetsIntervalMs: 200, targetsJitterMs: 10, rulesIntervalMs: 60_000, fallback: NEVER });
    sampler.shouldTrace({});
    await sampler.whenStarted();
    expect(sampler.shouldTrace({})).toBe('first');
    await new Promise((r) => setTimeout(r, 20));
    writeFileSync(file, JSON.stringify([rule('second', 1, { FixedRate: 1 })]));
    utimesSync(file, new Date(), new Date(Date.now() + 2000));
    // The next target poll sees LastRuleModification move and fetches the rules at once (not in 60 s).
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && sampler.shouldTrace({}) !== 'second') await new Promise((r) => setTimeout(r, 50));
    expect(sampler.shouldTrace({})).toBe('second');
    expect(sampler.stats().rules.map((r) => r.ruleName)).toEqual(['second', 'Default']);
  });
});
