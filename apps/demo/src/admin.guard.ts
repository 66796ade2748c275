import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';

/** Lets a request through only with `x-demo-admin: yes`; otherwise Nest answers 403. */
@Injectable()
export class AdminGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<{ headers: Record<string, string | undefined> }>();
    return req.headers['x-demo-admin'] === 'yes';
  }
}
