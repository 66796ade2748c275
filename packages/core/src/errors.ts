/** Thrown at start-up for configuration that cannot work; the message names the key and the fix. */
export class XRayConfigError extends Error {
  override readonly name = 'XRayConfigError';
  /** Every problem found, one sentence each. */
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(
      problems.length === 1
        ? `xrayjs configuration: ${problems[0]}`
        : `xrayjs configuration has ${problems.length} problems:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
    this.problems = problems;
  }
}

/** Thrown under the `RUNTIME_ERROR` context-missing strategy when there is no segment to work in. */
export class SegmentNotFoundError extends Error {
  override readonly name = 'SegmentNotFoundError';

  constructor(operation: string) {
    super(
      `${operation}: cannot find the current segment/subsegment, please make sure you have a segment open. ` +
        'Outside a request (start-up code, jobs, scripts) wrap the work in recorder.captureSegment(name, fn), ' +
        'or set AWS_XRAY_CONTEXT_MISSING to LOG_ERROR or IGNORE_ERROR.',
    );
  }
}

/** A local sampling rules document that cannot be used (the Python SDK's exception name). */
export class InvalidSamplingManifestError extends Error {
  override readonly name = 'InvalidSamplingManifestError';
}
