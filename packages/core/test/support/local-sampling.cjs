// The core suites configure many recorders with the default sampling and do not all shut them down:
// with centralized sampling each would poll 127.0.0.1:2000 after its test ended. They sample by the
// local rules; centralized sampling is tested against the local daemon (packages/local-daemon) and in
// the demo's e2e suites.
process.env.XRAYJS_SAMPLER = 'local';
