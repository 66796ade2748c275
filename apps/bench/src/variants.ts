/** The variants compared, in the order of the report. */
export const VARIANTS = ['untraced', 'xrayjs', 'xrayjs-default', 'aws-xray-sdk', 'opentelemetry'] as const;
export type Variant = (typeof VARIANTS)[number];

/** The routes every variant serves. */
export const ROUTES = ['/trivial', '/two', '/db', '/throw', '/calls'] as const;
export type Route = (typeof ROUTES)[number];

export const SERVICE_NAME = 'bench';
