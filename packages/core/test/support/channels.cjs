// Jest loads each test file's modules afresh in one worker process, so ioredis, node-redis and mysql2
// each create their tracing channels once per test file, and the last file's channels become garbage.
// Node 20's registry of channels (fixed in 22) drops a name when a collected channel's finalizer runs, even if a
// newer channel of that name took its place: the next file's client then published on a channel the
// instrumentation could no longer find by name (the Redis suite recorded nothing on a CI run). A
// process does not load a client twice; holding the first channels of each name for the worker's life
// gives the tests that same situation.
const dc = require('node:diagnostics_channel');

const key = Symbol.for('xrayjs.test.tracing-channels');
if (dc[key] === undefined && typeof dc.tracingChannel === 'function') {
  const names = ['ioredis:command', 'ioredis:batch', 'ioredis:connect', 'node-redis:command', 'node-redis:batch', 'node-redis:connect', 'mysql2:query', 'mysql2:execute', 'mysql2:connect'];
  Object.defineProperty(dc, key, { value: names.map((name) => dc.tracingChannel(name)) });
}
