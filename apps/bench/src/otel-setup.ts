// Loaded with --import before the app (plus the instrumentation ESM loader hook), as OpenTelemetry
// documents for ES modules: http, express, undici, aws-sdk and pg instrumentation, the X-Ray id generator and propagator,
// a batch span processor and OTLP/HTTP export to the benchmark's local sink.
import { AWSXRayIdGenerator } from '@opentelemetry/id-generator-aws-xray';
import { AWSXRayPropagator } from '@opentelemetry/propagator-aws-xray';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { ExpressInstrumentation } from '@opentelemetry/instrumentation-express';
import { AwsInstrumentation } from '@opentelemetry/instrumentation-aws-sdk';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AlwaysOnSampler, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';

const provider = new NodeTracerProvider({
  resource: resourceFromAttributes({ 'service.name': 'bench' }),
  idGenerator: new AWSXRayIdGenerator(),
  sampler: new AlwaysOnSampler(),
  spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: process.env.BENCH_OTLP_URL }))],
});
provider.register({ propagator: new AWSXRayPropagator() });
registerInstrumentations({ instrumentations: [new HttpInstrumentation(), new ExpressInstrumentation(), new UndiciInstrumentation(), new AwsInstrumentation(), new PgInstrumentation()] });

// The server flushes spans still in the batch before it exits.
(globalThis as { __benchShutdown?: () => Promise<void> }).__benchShutdown = () => provider.shutdown();
