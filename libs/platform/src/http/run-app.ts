import 'reflect-metadata';
import { ArgumentsHost, Catch, HttpException, HttpStatus, ValidationPipe, type DynamicModule, type ExceptionFilter, type INestApplication } from '@nestjs/common';
import { NestFactory, HttpAdapterHost } from '@nestjs/core';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { NestExpressApplication } from '@nestjs/platform-express';
import helmet from 'helmet';
import { readFileSync } from 'node:fs';
import type { KafkaEnv } from '../config/common.config.js';
import { ConfigError } from '../config/env.js';
import { CONFIG } from '../infra.module.js';
import { explainStartupFailure } from '../config/startup-failure.js';
import { JsonLogger } from '../logging/json-logger.js';

/** Errors leave as { statusCode, error, message } and never carry a stack trace or internals. */
@Catch()
export class PublicErrorFilter implements ExceptionFilter {
  constructor(private readonly adapterHost: HttpAdapterHost, private readonly logger: JsonLogger) {}
  catch(exception: unknown, host: ArgumentsHost): void {
    const { httpAdapter } = this.adapterHost;
    const ctx = host.switchToHttp();
    let status = HttpStatus.INTERNAL_SERVER_ERROR;
    let body: Record<string, unknown> = { statusCode: status, error: 'Internal Server Error', message: 'internal error' };
    if (exception instanceof HttpException) {
      status = exception.getStatus();
      const r = exception.getResponse();
      body = typeof r === 'string' ? { statusCode: status, message: r } : { statusCode: status, ...(r as object) };
    } else if ((exception as { type?: string })?.type === 'entity.too.large') {
      status = HttpStatus.PAYLOAD_TOO_LARGE;
      body = { statusCode: status, error: 'Payload Too Large', message: 'request body is larger than the limit' };
    } else if ((exception as { type?: string })?.type === 'entity.parse.failed') {
      status = HttpStatus.BAD_REQUEST;
      body = { statusCode: status, error: 'Bad Request', message: 'request body is not valid JSON' };
    } else {
      this.logger.error(exception instanceof Error ? exception : String(exception), 'http');
    }
    httpAdapter.reply(ctx.getResponse(), body, status);
  }
}

export interface RunHttpOptions {
  readonly service: string;
  readonly port: number;
  readonly host?: string;
  readonly title: string;
  readonly bodyLimit?: string;
}

/** HTTPS when both HTTP_TLS_CERT and HTTP_TLS_KEY name PEM files; one without the other is a configuration error. */
export function tlsOptions(env: NodeJS.ProcessEnv = process.env): { cert: Buffer; key: Buffer } | undefined {
  const cert = env.HTTP_TLS_CERT;
  const key = env.HTTP_TLS_KEY;
  if (!cert && !key) return undefined;
  if (!cert || !key) throw new ConfigError(`invalid configuration:\n  ${cert ? 'HTTP_TLS_KEY' : 'HTTP_TLS_CERT'} (unset): HTTPS needs both HTTP_TLS_CERT and HTTP_TLS_KEY`);
  try {
    return { cert: readFileSync(cert), key: readFileSync(key) };
  } catch (e) {
    throw new ConfigError(`invalid configuration:\n  HTTP_TLS_CERT/HTTP_TLS_KEY: cannot read ${(e as Error).message}`);
  }
}

export async function createHttpApp(module: () => DynamicModule, opts: RunHttpOptions): Promise<INestApplication> {
  const logger = new JsonLogger(opts.service);
  const app = await NestFactory.create<NestExpressApplication>(module(), { logger, bodyParser: false, abortOnError: false, httpsOptions: tlsOptions() });
  app.use(helmet());
  app.useBodyParser('json', { limit: opts.bodyLimit ?? '1mb' });
  app.useGlobalPipes(new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true, stopAtFirstError: false }));
  app.useGlobalFilters(new PublicErrorFilter(app.get(HttpAdapterHost), logger));
  app.enableShutdownHooks();
  const doc = new DocumentBuilder().setTitle(opts.title).setVersion('1').addBearerAuth().build();
  SwaggerModule.setup('docs', app, () => SwaggerModule.createDocument(app, doc), { jsonDocumentUrl: 'docs/openapi.json' });
  return app;
}

/** Starts an HTTP app; a configuration error stops it with the variable's name and exit code 78. */
export async function runHttpApp(module: () => DynamicModule, opts: RunHttpOptions): Promise<INestApplication | undefined> {
  try {
    const app = await createHttpApp(module, opts);
    const host = opts.host ?? app.get<KafkaEnv>(CONFIG, { strict: false }).HTTP_HOST;
    await app.listen(opts.port, host);
    new JsonLogger(opts.service).info({ msg: `${opts.service} listening`, url: `${tlsOptions() ? 'https' : 'http'}://${host}:${opts.port}` });
    return app;
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${opts.service}: ${e.message}\n`);
      process.exit(78);
    }
    const reason = explainStartupFailure(e);
    if (reason) {
      process.stderr.write(`${opts.service}: ${reason}\n`);
      process.exit(78);
    }
    throw e;
  }
}
