import { describe, expect, it } from '@jest/globals';

import { resolveDaemonAddress } from '../src/emitting/daemon-address.js';
import { isValidTraceId, newTraceId, parseTraceId } from '../src/propagation/ids.js';
import { InvalidSamplingManifestError } from '../src/errors.js';
import { LocalSampler, parseSamplingRules } from '../src/sampling/local-sampler.js';
import { TraceHeader, type SampledFlag } from '../src/propagation/trace-header.js';
import { wildcardMatch } from '../src/wildcard.js';
import { loadVectors } from './support/conformance.js';

// Table tests over the official vectors in conformance/ (see conformance/SOURCES.md).

interface HeaderVector {
  header: string | null;
  valid?: boolean;
  root?: string | null;
  parent?: string | null;
  sampled?: string | null;
  extra?: Record<string, string>;
  checked: ('valid' | 'root' | 'parent' | 'sampled' | 'extra')[];
  context?: string;
  source: string;
}

describe('trace-header-vectors.json', () => {
  const vectors = loadVectors<HeaderVector[]>('trace-header-vectors.json');

  it('should hold 31 records', () => {
    expect(vectors).toHaveLength(31);
  });

  it.each(vectors.map((v, i) => [i, JSON.stringify(v.header)?.slice(0, 70), v] as const))(
    '#%i %s',
    (_i, _label, v) => {
      const header = TraceHeader.fromString(v.header);
      // Records read from a Lambda environment count as valid when the SDK would trace under them (a
      // whole context). For the others "valid" only says that the SDK's parser returned a header, which
      // fromString() always does (it never throws); that field is not compared for them.
      const lambda = v.context?.startsWith('lambda-env') === true;
      const checked = lambda ? v.checked : v.checked.filter((field) => field !== 'valid');
      const actual = {
        valid: header.isComplete(),
        root: header.root ?? null,
        parent: header.parent ?? null,
        sampled: header.sampled ?? null,
        extra: header.extra,
      };
      for (const field of checked) expect({ field, value: actual[field] }).toEqual({ field, value: v[field] ?? null });
    },
  );
});

describe('trace-header-serialize-vectors.json', () => {
  const vectors = loadVectors<{ fields: { root?: string; parent?: string; sampled?: SampledFlag | null; extra?: Record<string, string> }; expected_header: string }[]>(
    'trace-header-serialize-vectors.json',
  );

  it('should hold 8 records', () => expect(vectors).toHaveLength(8));

  it.each(vectors.map((v) => [v.expected_header, v] as const))('%s', (_label, v) => {
    const header = new TraceHeader({
      root: v.fields.root,
      parent: v.fields.parent,
      sampled: v.fields.sampled ?? undefined,
      extra: v.fields.extra,
    });
    expect(header.toString()).toBe(v.expected_header);
    // And what we write, we read back the same.
    expect(TraceHeader.fromString(header.toString()).toString()).toBe(v.expected_header);
  });
});

describe('trace-id-vectors.json', () => {
  const vectors = loadVectors<{ trace_id: string | null; valid: boolean; epoch_hex?: string; random_hex?: string }[]>(
    'trace-id-vectors.json',
  );

  it('should hold 12 records', () => expect(vectors).toHaveLength(12));

  it.each(vectors.map((v) => [String(v.trace_id), v] as const))('%s', (_label, v) => {
    expect(isValidTraceId(v.trace_id)).toBe(v.valid);
    const parsed = parseTraceId(v.trace_id);
    if (v.valid) {
      expect(parsed).toEqual({ version: 1, epochHex: v.epoch_hex, randomHex: v.random_hex });
    } else {
      expect(parsed).toBeUndefined();
    }
  });

  it('should make ids that parse, with the current epoch', () => {
    const id = newTraceId(0x57ff426a * 1000);
    expect(parseTraceId(id)?.epochHex).toBe('57ff426a');
    expect(isValidTraceId(newTraceId())).toBe(true);
  });
});

describe('wildcard-vectors.json', () => {
  const vectors = loadVectors<{ pattern: string | null; text: string | null; match: boolean; case_insensitive?: boolean; source: string }[]>(
    'wildcard-vectors.json',
  );

  it('should hold 203 records', () => expect(vectors).toHaveLength(203));

  it.each(vectors.map((v, i) => [i, `${JSON.stringify(v.pattern)} ~ ${JSON.stringify(v.text)}`.slice(0, 80), v] as const))(
    '#%i %s',
    (_i, _label, v) => {
      expect(wildcardMatch(v.pattern, v.text, v.case_insensitive ?? true)).toBe(v.match);
    },
  );

  it('should stay linear on a catastrophic pattern', () => {
    const text = 'a'.repeat(100_000);
    expect(wildcardMatch('*a*a*a*a*a*a*a*a*b', text)).toBe(false);
    expect(wildcardMatch('*a*a*a*a*a*a*a*a*', text)).toBe(true);
  });
});

describe('daemon-address-vectors.json', () => {
  const vectors = loadVectors<{ address: string; valid: boolean; udp: string | null; tcp: string | null }[]>(
    'daemon-address-vectors.json',
  );

  it('should hold 51 records', () => expect(vectors).toHaveLength(51));

  it.each(vectors.map((v) => [v.address, v] as const))('%s', async (_label, v) => {
    let result: { udp: string; tcp: string } | 'invalid';
    try {
      const a = await resolveDaemonAddress(v.address);
      result = { udp: `${a.udp.host}:${a.udp.port}`, tcp: `${a.tcp.host}:${a.tcp.port}` };
    } catch {
      result = 'invalid';
    }
    expect(result).toEqual(v.valid ? { udp: v.udp, tcp: v.tcp } : 'invalid');
  });

  it('should accept IPv6 hosts in brackets', async () => {
    await expect(resolveDaemonAddress('[::1]:2000')).resolves.toEqual({
      udp: { host: '::1', port: 2000 },
      tcp: { host: '::1', port: 2000 },
    });
  });
});

interface RuleVector {
  document: unknown;
  document_text?: string;
  load: 'ok' | 'error';
  error_message?: string;
  loaded?: { rules: { host: string; http_method: string; url_path: string; fixed_target: number; rate: number }[] };
  decisions?: { request: { host?: string; url?: string; path?: string; method?: string }; sampled: boolean }[];
  source: string;
}

describe('local-sampling-rule-vectors.json', () => {
  const vectors = loadVectors<RuleVector[]>('local-sampling-rule-vectors.json');

  it('should hold 31 records', () => expect(vectors).toHaveLength(31));

  it.each(vectors.map((v, i) => [i, v.source.split(':: ')[1] ?? v.source.split('/').pop(), v] as const))(
    '#%i %s',
    (_i, _label, v) => {
      let loaded: ReturnType<typeof parseSamplingRules> | undefined;
      let error: Error | undefined;
      try {
        const doc = v.document_text !== undefined ? (JSON.parse(v.document_text) as unknown) : v.document;
        loaded = parseSamplingRules(doc);
      } catch (e) {
        error = e as Error;
      }
      if (v.load === 'error') {
        expect(loaded).toBeUndefined();
        if (v.error_message) expect(`${error!.name}: ${error!.message}`).toContain(v.error_message);
        if (v.document_text === undefined) expect(error).toBeInstanceOf(InvalidSamplingManifestError);
        return;
      }
      expect(error).toBeUndefined();
      if (v.loaded) {
        expect(loaded!.rules.map(({ host, http_method, url_path, fixed_target, rate }) => ({ host, http_method, url_path, fixed_target, rate }))).toEqual(
          v.loaded.rules.map(({ host, http_method, url_path, fixed_target, rate }) => ({ host, http_method, url_path, fixed_target, rate })),
        );
      }
      // Decisions hold for a fresh sampler: one per request, each against its own new sampler.
      for (const d of v.decisions ?? []) {
        const sampler = new LocalSampler(loaded, { random: () => 0.99 });
        const decision = sampler.shouldTrace({ host: d.request.host, method: d.request.method, path: d.request.path ?? d.request.url });
        expect({ request: d.request, sampled: decision }).toEqual({ request: d.request, sampled: d.sampled });
      }
    },
  );
});
