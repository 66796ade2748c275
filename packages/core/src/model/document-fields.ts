/** A value an annotation may hold. */
export type AnnotationValue = string | number | boolean;

/** `http.request` of a segment or of a subsegment that represents an outgoing call. */
export interface HttpRequestData {
  method?: string;
  url?: string;
  client_ip?: string;
  user_agent?: string;
  x_forwarded_for?: boolean;
  /** On a downstream call: the callee is traced too. */
  traced?: boolean;
}

/** `http.response` of a segment or subsegment. */
export interface HttpResponseData {
  status?: number;
  content_length?: number;
}

/** The `http` block. */
export interface HttpData {
  request?: HttpRequestData;
  response?: HttpResponseData;
}

/** The `sql` block of a subsegment that represents a query. */
export interface SqlData {
  url?: string;
  connection_string?: string;
  sanitized_query?: string;
  database_type?: string;
  database_version?: string;
  driver_version?: string;
  user?: string;
  preparation?: 'statement' | 'call';
}
