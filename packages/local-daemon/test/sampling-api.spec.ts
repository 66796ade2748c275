import { mkdtempSync, renameSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from '@jest/globals';

import { InvalidRulesFileError, parseRulesDocument, SamplingApi } from '../src/sampling-api.js';

const rule = (name: string, priority: number, fields: Record<string, unknown> = {}) => ({
  RuleName: name, Priority: priority, FixedRate: 0.1, ReservoirSize: 2, ServiceName: '*', ServiceType: '*', Host: '*',
  HTTPMethod: '*', URLPath: '*', ResourceARN: '*', Version: 1, Attributes: {}, ...fields,
});

const CLIENT_A = 'a'.repeat(24);
const CLIENT_B = 'b'.repeat(24);

/** One report of `clients` to `name`, as SDKs send it. */
const report = (api: SamplingApi, name: string, clients: string[], now: number) =>
  api.getSamplingTargets({
    SamplingStatisticsDocuments: clients.map((c) => ({ RuleName: name, ClientID: c, Timestamp: now, RequestCount: 5, SampledCount: 1, BorrowCount: 0 })),
  }) as { SamplingTargetDocuments: Array<{ ReservoirQuota: number; ReservoirQuotaTTL: number }> };

describe('SamplingApi (the local daemon\u2019s sampling API)', () => {
  it('should serve a real "aws xray get-sampling-rules" output: any rule name, empty patterns, SamplingRateBoost and the records\u2019 times', () => {
    const output = {
      SamplingRuleRecords: [
        { SamplingRule: rule('orders.api', 10, { ServiceType: '', SamplingRateBoost: { MaxRate: 0.5, CooldownWindowMinutes: 2 } }), CreatedAt: '2026-01-05T10:00:00Z', ModifiedAt: 1767607200.5 },
        { SamplingRule: rule('Default', 10000, { FixedRate: 0.05, ReservoirSize: 1 }), CreatedAt: 0, ModifiedAt: 1767600000 },
      ],
    };
    const api = new SamplingApi();
    api.setRules(output);
    const page = api.getSamplingRules({}) as { SamplingRuleRecords: Array<{ SamplingRule: Record<string, unknown>; CreatedAt: number; ModifiedAt: number }> };
    expect(page.SamplingRuleRecords[0]).toEqual({
      SamplingRule: { ...rule('orders.api', 10, { ServiceType: '' }), RuleARN: 'arn:aws:xray:local:000000000000:sampling-rule/orders.api', SamplingRateBoost: { MaxRate: 0.5, CooldownWindowMinutes: 2 } },
      CreatedAt: Date.parse('2026-01-05T10:00:00Z') / 1000,
      ModifiedAt: 1767607200.5,
    });
    expect(page.SamplingRuleRecords[1].SamplingRule).not.toHaveProperty('CreatedAt');
  });

  it('should refuse a Default rule with another Priority than 10000, saying why', () => {
    expect(() => parseRulesDocument([rule('Default', 1)])).toThrow(InvalidRulesFileError);
    expect(() => parseRulesDocument([rule('Default', 1)])).toThrow(/Default rule's Priority is 10000/);
  });

  it('should never hand out quotas that add up to more than the reservoir, while clients join and go quiet', () => {
    let now = 1_800_000_000;
    const api = new SamplingApi({ now: () => now * 1000, quotaTtlSeconds: 60, intervalSeconds: 10 });
    api.setRules([rule('r', 1, { ReservoirSize: 2 })]);
    const held = new Map<string, { quota: number; until: number }>();
    const inForce = () => [...held.values()].filter((h) => now < h.until).reduce((sum, h) => sum + h.quota, 0);
    const ask = (clients: string[]) => {
      const answer = report(api, 'r', clients, now);
      clients.forEach((c, i) => held.set(c, { quota: answer.SamplingTargetDocuments[i].ReservoirQuota, until: answer.SamplingTargetDocuments[i].ReservoirQuotaTTL }));
    };
    const sums: number[] = [];
    ask([CLIENT_A]); // alone: the whole reservoir
    expect(held.get(CLIENT_A)!.quota).toBe(2);
    sums.push(inForce());
    ask([CLIENT_B]); // joins while A holds 2
    sums.push(inForce());
    for (let t = 0; t < 6; t++) {
      now += 10;
      ask([CLIENT_A]);
      ask([CLIENT_B]);
      sums.push(inForce());
    }
    expect([held.get(CLIENT_A)!.quota, held.get(CLIENT_B)!.quota]).toEqual([1, 1]); // converged to the fair split
    for (let t = 0; t < 8; t++) {
      now += 10; // A goes quiet, its quota still holds for a while
      ask([CLIENT_B]);
      sums.push(inForce());
    }
    expect(held.get(CLIENT_B)!.quota).toBe(2); // A's quota ran out: B gets the whole reservoir
    expect(Math.max(...sums)).toBeLessThanOrEqual(2);
  });

  it('should page through the rules as they were at the first page, even when they change in between', () => {
    const api = new SamplingApi({ pageSize: 2 });
    api.setRules([rule('a', 1), rule('b', 2), rule('c', 3)]);
    const names = (page: unknown) => (page as { SamplingRuleRecords: Array<{ SamplingRule: { RuleName: string } }> }).SamplingRuleRecords.map((r) => r.SamplingRule.RuleName);
    const first = api.getSamplingRules({}) as { NextToken: string };
    api.setRules([rule('a', 1), rule('x', 1), rule('b', 2), rule('c', 3)]);
    const second = api.getSamplingRules({ NextToken: first.NextToken }) as { NextToken?: string };
    expect([...names(first), ...names(second)]).toEqual(['a', 'b', 'c', 'Default']);
    expect(second.NextToken).toBeUndefined();
    expect(names(api.getSamplingRules({}))).toEqual(['a', 'x']); // a new fetch sees the new rules
    expect(() => api.getSamplingRules({ NextToken: 'page-2' })).toThrow(/NextToken/);
  });

  it('should read the rules file again after a bad edit is fixed within the same mtime, and after it was moved away and back', () => {
    const dir = mkdtempSync(join(tmpdir(), 'xray-rules-'));
    const file = join(dir, 'rules.json');
    const when = new Date('2026-06-01T00:00:00Z');
    const write = (text: string) => {
      writeFileSync(file, text);
      utimesSync(file, when, when); // a coarse clock: every write has the same mtime
    };
    write(JSON.stringify([rule('first', 1)]));
    const api = new SamplingApi({ rulesFile: file });
    const served = () => api.report().map((r) => r.rule.RuleName);
    write('{"SamplingRules": [');
    expect(served()).toEqual(['first', 'Default']);
    expect(api.fileProblem).toMatch(/not JSON/);
    write(JSON.stringify([rule('second', 1), rule('third', 2)]));
    expect(served()).toEqual(['second', 'third', 'Default']);
    expect(api.fileProblem).toBeUndefined();
    renameSync(file, `${file}.away`);
    expect(served()).toEqual(['second', 'third', 'Default']);
    expect(api.fileProblem).toMatch(/cannot read/);
    renameSync(`${file}.away`, file);
    expect(served()).toEqual(['second', 'third', 'Default']);
    expect(api.fileProblem).toBeUndefined();
  });

  it('should check each statistics document (timestamp, rule name, counts) and take a null optional count as absent', () => {
    const api = new SamplingApi();
    const doc = { RuleName: 'Default', ClientID: CLIENT_A, Timestamp: 1_800_000_000, RequestCount: 1, SampledCount: 1 };
    const targets = (d: Record<string, unknown>, extra: Record<string, unknown> = {}) => () => api.getSamplingTargets({ SamplingStatisticsDocuments: [{ ...doc, ...d }], ...extra });
    expect(targets({ Timestamp: 'yesterday' })).toThrow(/Timestamp/);
    expect(targets({ RuleName: { evil: 1 } })).toThrow(/RuleName/);
    expect(targets({ RequestCount: 1e308 })).toThrow(/RequestCount/);
    expect(targets({ SampledCount: -1 })).toThrow(/SampledCount/);
    expect(targets({ BorrowCount: null })()).toMatchObject({ SamplingTargetDocuments: [{ RuleName: 'Default' }] });
    expect(targets({}, { SamplingBoostStatisticsDocuments: [] })()).toMatchObject({ UnprocessedBoostStatistics: [] });
    expect(targets({}, { SamplingBoostStatisticsDocuments: Array.from({ length: 26 }, () => ({})) })).toThrow(/at most 25/);
    expect(() => api.getSamplingTargets([])).toThrow(/JSON object/);
  });

  it('should keep at most 1,000 clients per rule, forgetting the longest silent first', () => {
    const api = new SamplingApi();
    const ids = Array.from({ length: 1200 }, (_, i) => i.toString(16).padStart(24, '0'));
    for (let i = 0; i < ids.length; i += 25) report(api, 'Default', ids.slice(i, i + 25), 1_800_000_000);
    const clients = api.report()[0].clients.map((c) => c.clientId);
    expect(clients).toHaveLength(1000);
    expect(clients).not.toContain(ids[0]);
    expect(clients).toContain(ids[1199]);
  });
});
