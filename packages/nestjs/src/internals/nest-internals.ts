import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

import { directoryOfCaller } from '@xrayjs/core';

/** This file's directory (in src/, dist/esm/ or dist/cjs/). */
const HERE = directoryOfCaller();

/** The Nest majors whose internals xrayjs patches (checked at boot). */
export const SUPPORTED_NEST_MAJORS: readonly number[] = [11, 12];

/** What the module hooks into inside `@nestjs/core`, or why it cannot. @internal */
export interface NestInternals {
  /** The installed `@nestjs/core` version, when it could be read. */
  readonly version: string | undefined;
  /** `ExceptionsHandler.prototype`: sees every exception of the HTTP pipeline. */
  readonly exceptionsHandler: { next: (...args: unknown[]) => unknown } | undefined;
  /** `RouterExecutionContext.prototype`: builds each route's handler at start-up. */
  readonly routerExecutionContext: { create: (...args: unknown[]) => unknown } | undefined;
  /** Why something is missing (one sentence each); empty when both hooks can be installed. */
  readonly problems: readonly string[];
}

let loaded: Promise<NestInternals> | undefined;

/**
 * Loads the two Nest internals the module patches, lazily and only when tracing is on, and checks the
 * Nest version. A deep import that fails (a Nest that moved its files) or an unsupported version gives
 * `problems` instead of an error: the module then falls back to a global interceptor.
 * @internal
 */
export function loadNestInternals(): Promise<NestInternals> {
  loaded ??= load();
  return loaded;
}

async function load(): Promise<NestInternals> {
  const problems: string[] = [];
  let version: string | undefined;
  try {
    // Resolved from this package, as its own `import '@nestjs/core'` is: the Nest the app runs.
    const manifest = createRequire(join(HERE ?? process.cwd(), 'nest-internals.js')).resolve('@nestjs/core/package.json');
    const v = (JSON.parse(readFileSync(manifest, 'utf8')) as { version?: unknown }).version;
    if (typeof v === 'string') version = v;
  } catch (e) {
    problems.push(`the @nestjs/core version could not be read (${(e as Error).message})`);
  }
  const major = version === undefined ? undefined : Number(version.split('.')[0]);
  if (major !== undefined && !SUPPORTED_NEST_MAJORS.includes(major)) {
    problems.push(`@nestjs/core ${version} is not a version xrayjs hooks into (${SUPPORTED_NEST_MAJORS.join(', ')})`);
    return { version, exceptionsHandler: undefined, routerExecutionContext: undefined, problems };
  }
  const exceptionsHandler = await prototypeOf('@nestjs/core/exceptions/exceptions-handler.js', 'ExceptionsHandler', 'next', problems);
  const routerExecutionContext = await prototypeOf('@nestjs/core/router/router-execution-context.js', 'RouterExecutionContext', 'create', problems);
  return {
    version,
    exceptionsHandler: exceptionsHandler as NestInternals['exceptionsHandler'],
    routerExecutionContext: routerExecutionContext as NestInternals['routerExecutionContext'],
    problems,
  };
}

async function prototypeOf(specifier: string, exportName: string, method: string, problems: string[]): Promise<object | undefined> {
  try {
    const module = (await import(specifier)) as Record<string, unknown>;
    const cls = (module[exportName] ?? (module.default as Record<string, unknown> | undefined)?.[exportName]) as { prototype?: Record<string, unknown> } | undefined;
    const proto = cls?.prototype;
    if (proto && typeof proto[method] === 'function') return proto;
    problems.push(`${exportName}.prototype.${method} is not in ${specifier}`);
  } catch (e) {
    problems.push(`${specifier} could not be loaded (${(e as Error).message})`);
  }
  return undefined;
}
