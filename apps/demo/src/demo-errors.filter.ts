import { type ArgumentsHost, Catch, HttpException, Logger } from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';

/** The error the demo's `/boom` route throws on purpose. */
export class DemoError extends Error {}

/**
 * Answers the demo's deliberate errors as Nest would (a 500 with Nest's body) but logs them in one line
 * instead of a full stack each time someone clicks `/boom`: the stack is in the trace. Everything
 * else goes to Nest's own handling. (Tracing sees the exception before any filter.)
 */
@Catch()
export class DemoErrorsFilter extends BaseExceptionFilter {
  private readonly logger = new Logger('Demo');

  override catch(exception: unknown, host: ArgumentsHost): void {
    if (!(exception instanceof DemoError)) return super.catch(exception, host);
    const http = host.switchToHttp();
    const req = http.getRequest<{ method?: string; url?: string; originalUrl?: string }>();
    this.logger.warn(`${req.method} ${req.originalUrl ?? req.url} -> 500: ${exception.message} (the demo's deliberate error; its stack is in the trace)`);
    const adapter = this.httpAdapterHost!.httpAdapter;
    const status = 500;
    adapter.reply(http.getResponse(), new HttpException('Internal server error', status).getResponse(), status);
  }
}
