/** What a sampler may look at. A missing attribute matches any rule pattern. */
export interface SamplingRequest {
  /** The request's Host header. */
  host?: string;
  /** The HTTP method. */
  method?: string;
  /** The URL path (no query string). */
  path?: string;
  /** The segment name. */
  service?: string;
  /** The origin (`AWS::EC2::Instance`, ...), from plugins. */
  serviceType?: string;
  /** The ARN of the resource the application runs on (`RESOURCE_ARN`), for centralized rules' `ResourceARN`. */
  resourceArn?: string;
  /** Attributes for centralized rules' `Attributes` (looked up before the request headers). */
  attributes?: Readonly<Record<string, string>>;
  /** The request headers, by lower-case name: centralized rules' `Attributes` match them. */
  headers?: Readonly<Record<string, string | string[] | undefined>>;
}

/**
 * Decides whether a new trace is recorded. The extension point for other strategies (the centralized
 * sampler polls the daemon's sampling API and falls back to a local sampler).
 *
 * `shouldTrace` returns `false` (not sampled), `true` (sampled) or a rule name (sampled by that
 * centralized rule, written to `aws.xray.sampling_rule_name`). It runs once per request: keep it cheap.
 */
export interface Sampler {
  shouldTrace(request: SamplingRequest): boolean | string;
  /** Starts background work (pollers); called when the recorder is configured. */
  start?(): void;
  /** Stops background work; called on shutdown. */
  stop?(): void | Promise<void>;
  /** What the sampler reports in `Recorder.stats().sampler`. */
  stats?(): unknown;
}
