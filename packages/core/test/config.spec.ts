import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from '@jest/globals';

import { resolveConfig } from '../src/config/config.js';
import { INSTRUMENTATION_NAMES } from '../src/instrumentation/instrumentation.js';
import { XRayConfigError } from '../src/errors.js';

const NAME = { AWS_XRAY_TRACING_NAME: 'svc' };

function problems(options: Record<string, unknown>, env: Record<string, string> = {}): string[] {
  try {
    resolveConfig(options, env);
    return [];
  } catch (e) {
    expect(e).toBeInstanceOf(XRayConfigError);
    return [...(e as XRayConfigError).problems];
  }
}

describe('resolveConfig()', () => {
  it('should apply the Python SDK defaults', () => {
    const c = resolveConfig(NAME, {});
    expect(c).toMatchObject({
      enabled: true,
      tracingName: 'svc',
      autoInstrument: new Set(INSTRUMENTATION_NAMES),
      plugins: [],
      sampling: true,
      samplingRules: { version: 2, rules: [], default: { fixed_target: 1, rate: 0.05 } },
      dynamicNaming: undefined,
      streamingThreshold: 30,
      maxTraceBack: 10,
      streamSql: true,
      daemonAddressText: '127.0.0.1:2000',
      daemonAddress: { udp: { host: '127.0.0.1', port: 2000 }, tcp: { host: '127.0.0.1', port: 2000 } },
      contextMissing: 'LOG_ERROR',
      urlsAsAnnotations: false,
    });
  });

  it('should let the four environment variables win over the options', () => {
    const c = resolveConfig(
      { AWS_XRAY_TRACING_NAME: 'from-options', AWS_XRAY_DAEMON_ADDRESS: '127.0.0.1:3000', AWS_XRAY_CONTEXT_MISSING: 'LOG_ERROR', AWS_XRAY_SDK_ENABLED: true },
      { AWS_XRAY_TRACING_NAME: 'from-env', AWS_XRAY_DAEMON_ADDRESS: 'tcp:127.0.0.1:4000 udp:127.0.0.2:4001', AWS_XRAY_CONTEXT_MISSING: 'IGNORE_ERROR', AWS_XRAY_SDK_ENABLED: 'off' },
    );
    expect(c.tracingName).toBe('from-env');
    expect(c.daemonAddress).toEqual({ udp: { host: '127.0.0.2', port: 4001 }, tcp: { host: '127.0.0.1', port: 4000 } });
    expect(c.contextMissing).toBe('IGNORE_ERROR');
    expect(c.enabled).toBe(false);
  });

  it.each([
    ['y', true], ['YES', true], ['t', true], ['True', true], ['on', true], ['1', true],
    ['n', false], ['No', false], ['f', false], ['FALSE', false], ['off', false], ['0', false],
  ])('AWS_XRAY_SDK_ENABLED=%s is %p', (value, enabled) => {
    expect(resolveConfig(NAME, { AWS_XRAY_SDK_ENABLED: value }).enabled).toBe(enabled);
  });

  it('should fail without a tracing name, saying where to set it', () => {
    expect(problems({}, {})).toEqual([expect.stringMatching(/^AWS_XRAY_TRACING_NAME is missing: set it in the options .* or in the environment variable AWS_XRAY_TRACING_NAME\.$/)]);
    expect(problems({}, { AWS_XRAY_TRACING_NAME: 'env-only' })).toEqual([]);
  });

  it('should name every bad key in one message', () => {
    let message = '';
    try {
      resolveConfig({ ...NAME, STREAMING_TRESHOLD: 5, SAMPLING: 'yes', MAX_TRACE_BACK: -1, PLUGINS: ['EC2'], AWS_XRAY_CONTEXT_MISSING: 'LOG', URLS_AS_ANNOTATION: 'SOME', PATCH_MODULES: ['x'] } as never, {});
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain('xrayjs configuration has 7 problems');
    expect(message).toContain('unknown key STREAMING_TRESHOLD');
    expect(message).toContain('SAMPLING must be true or false (got "yes")');
    expect(message).toContain('MAX_TRACE_BACK must be a whole number >= 0 (got -1)');
    expect(message).toContain('PLUGINS must be an array of EC2Plugin, ECSPlugin, ElasticBeanstalkPlugin');
    expect(message).toContain('AWS_XRAY_CONTEXT_MISSING must be one of RUNTIME_ERROR, LOG_ERROR, IGNORE_ERROR or a function (got "LOG")');
    expect(message).toContain('URLS_AS_ANNOTATION must be LAMBDA, ALL or NONE');
    expect(message).toContain('PATCH_MODULES is not supported');
  });

  it('should suggest the right spelling of a key in the wrong case', () => {
    expect(problems({ ...NAME, dynamic_naming: '*' })).toEqual([expect.stringContaining('unknown key dynamic_naming (did you mean DYNAMIC_NAMING?)')]);
  });

  it('should reject bad daemon addresses and bad environment values', () => {
    expect(problems({ ...NAME, AWS_XRAY_DAEMON_ADDRESS: '127.0.0.1' })).toEqual([expect.stringContaining('AWS_XRAY_DAEMON_ADDRESS: invalid daemon address "127.0.0.1": "127.0.0.1" has no port')]);
    expect(problems(NAME, { AWS_XRAY_DAEMON_ADDRESS: 'udp:1.2.3.4:5' })).toEqual([expect.stringContaining('the environment variable AWS_XRAY_DAEMON_ADDRESS')]);
    expect(problems(NAME, { AWS_XRAY_CONTEXT_MISSING: 'LOUD' })).toEqual([expect.stringContaining('AWS_XRAY_CONTEXT_MISSING has the value "LOUD"')]);
    expect(problems(NAME, { AWS_XRAY_SDK_ENABLED: 'maybe' })).toEqual([expect.stringContaining('AWS_XRAY_SDK_ENABLED has the value "maybe"; use true or false')]);
  });

  it('should load rules from an object or a file (with a byte-order mark) and fail on unreadable files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'xrayjs-rules-'));
    const file = join(dir, 'rules.json');
    const doc = { version: 1, default: { fixed_target: 2, rate: 0.5 }, rules: [{ service_name: '*', http_method: 'GET', url_path: '/x', fixed_target: 0, rate: 0 }] };
    writeFileSync(file, '\ufeff' + JSON.stringify(doc));
    expect(resolveConfig({ ...NAME, SAMPLING_RULES: file }, {}).samplingRules).toEqual({
      version: 1,
      default: { fixed_target: 2, rate: 0.5 },
      rules: [{ host: '*', http_method: 'GET', url_path: '/x', fixed_target: 0, rate: 0 }],
    });
    expect(resolveConfig({ ...NAME, SAMPLING_RULES: doc }, {}).samplingRules.default.fixed_target).toBe(2);
    expect(problems({ ...NAME, SAMPLING_RULES: join(dir, 'missing.json') })).toEqual([expect.stringMatching(/^SAMPLING_RULES: cannot read sampling rules file ".*missing.json"/)]);
    writeFileSync(file, '{ nope');
    expect(problems({ ...NAME, SAMPLING_RULES: file })).toEqual([expect.stringContaining('is not valid JSON')]);
    expect(problems({ ...NAME, SAMPLING_RULES: { version: 3, default: { fixed_target: 1, rate: 0 } } })).toEqual([expect.stringContaining('Unknown version 3.')]);
  });

  it('should turn URLS_AS_ANNOTATION=LAMBDA on only in Lambda', () => {
    expect(resolveConfig(NAME, {}).urlsAsAnnotations).toBe(false);
    expect(resolveConfig(NAME, { LAMBDA_TASK_ROOT: '/var/task' }).urlsAsAnnotations).toBe(true);
    expect(resolveConfig({ ...NAME, URLS_AS_ANNOTATION: 'ALL' }, {}).urlsAsAnnotations).toBe(true);
    expect(resolveConfig({ ...NAME, URLS_AS_ANNOTATION: 'NONE' }, { LAMBDA_TASK_ROOT: '/var/task' }).urlsAsAnnotations).toBe(false);
  });
});
