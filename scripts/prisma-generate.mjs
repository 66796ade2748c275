#!/usr/bin/env node
// Generates a Prisma client offline: `prisma generate` itself needs no engine for Prisma 7's
// `prisma-client` generator, but the CLI downloads its schema engine first unless
// PRISMA_SCHEMA_ENGINE_BINARY names one; generation never runs it, so any executable will do.
// Usage: node scripts/prisma-generate.mjs <schema.prisma>
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';

export function generatePrismaClient(schema) {
  const require = createRequire(import.meta.url);
  const cli = require.resolve('prisma/build/index.js');
  execFileSync(process.execPath, [cli, 'generate', '--schema', resolve(schema)], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? '/bin/true', PRISMA_HIDE_UPDATE_MESSAGE: '1', CHECKPOINT_DISABLE: '1' },
  });
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)) {
  if (!process.argv[2]) {
    console.error('usage: node scripts/prisma-generate.mjs <schema.prisma>');
    process.exit(2);
  }
  generatePrismaClient(process.argv[2]);
}
