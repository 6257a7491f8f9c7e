import { Body, Controller, Get, HttpCode, Inject, Ip, Post } from '@nestjs/common';
import { OperatorRoute, SERVICES } from '../auth';
import type { KeyholdServices } from '../../services';
import { parseBody, schemas } from '../validation';

@Controller()
export class OperatorController {
  constructor(@Inject(SERVICES) private readonly s: KeyholdServices) {}

  /** Platform operator creates a tenant with its ExternalId and first key admin. */
  @Post('v1/tenants')
  @HttpCode(201)
  @OperatorRoute()
  createTenant(@Body() body: unknown) {
    const input = parseBody(schemas.createTenant, body);
    return this.s.useCases.createTenant.execute('operator', input);
  }

  /** OAuth2-style token endpoint: password (admins) and client_credentials (service principals). */
  @Post('v1/auth/token')
  @HttpCode(200)
  token(@Body() body: unknown, @Ip() ip: string) {
    const grant = parseBody(schemas.token, body);
    return this.s.tokens.issue(grant, ip);
  }
}

@Controller()
export class HealthController {
  constructor(@Inject(SERVICES) private readonly s: KeyholdServices) {}

  @Get('healthz')
  healthz() {
    return { status: 'ok' };
  }
}
