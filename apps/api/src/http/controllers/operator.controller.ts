import { Body, Controller, Get, HttpCode, Ip, Post } from '@nestjs/common';
import { TokenService } from '@app/auth';
import { DomainError, ErrorCode, CreateTenant } from '@app/keys';
import { OperatorName, OperatorRoute } from '../auth';
import { parseBody, schemas } from '../validation';

@Controller()
export class OperatorController {
  constructor(
    private readonly createTenantUseCase: CreateTenant,
    private readonly tokens: TokenService,
  ) {}

  /**
   * Platform operator creates a tenant with its ExternalId and mails an invitation to its first key admin. A
   * password in the request is refused outright: the operator must never know a tenant admin's secret.
   */
  @Post('v1/tenants')
  @HttpCode(201)
  @OperatorRoute()
  createTenant(@Body() body: unknown, @OperatorName() operator: string) {
    const admin = (body as { admin?: unknown } | null)?.admin;
    if (admin && typeof admin === 'object' && 'password' in admin)
      throw new DomainError(
        ErrorCode.PasswordNotAccepted,
        'the operator does not choose admin passwords: the first key admin is invited by email and sets their own',
      );
    const input = parseBody(schemas.createTenant, body);
    return this.createTenantUseCase.execute({ actor: `operator:${operator}`, input });
  }

  /** OAuth2-style token endpoint: password (admins) and client_credentials (service principals). */
  @Post('v1/auth/token')
  @HttpCode(200)
  token(@Body() body: unknown, @Ip() ip: string) {
    const grant = parseBody(schemas.token, body);
    return this.tokens.issue(grant, ip);
  }
}

@Controller()
export class HealthController {
  @Get('healthz')
  healthz() {
    return { status: 'ok' };
  }
}
