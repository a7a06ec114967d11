import { BadRequestException, Controller, Get, HttpCode, HttpException, HttpStatus, Inject, NotFoundException, Param, ParseIntPipe, DefaultValuePipe, Post, Query, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiConsumes, ApiQuery, ApiTags } from '@nestjs/swagger';
import busboy from 'busboy';
import type { IncomingMessage } from 'node:http';

type Request = IncomingMessage;
import { PassThrough } from 'node:stream';
import { IMPORT_MODES, type ImportMode } from '#events';
import { isReportError, type Principal } from '#domain';
import { Access, CONFIG, CurrentPrincipal } from '#platform';
import type { LedgerEnv } from '../ledger.config.js';
import { actorOf } from '../access/access-commands.service.js';
import { ImportInterruptedError, ImportReportService } from './import-report.service.js';
import { spoolReport, UploadTooLargeError } from './report-spool.js';

/** How long an accepted upload waits for the projector to know its import id (see waitApplied). */
const VISIBLE_WAIT_MS = 10_000;

const bool = (v: string | undefined, dflt: boolean, name: string): boolean => {
  if (v === undefined || v === '') return dflt;
  if (/^(true|1|yes)$/i.test(v)) return true;
  if (/^(false|0|no)$/i.test(v)) return false;
  throw new BadRequestException(`${name} must be true or false`);
};

@ApiTags('imports')
@ApiBearerAuth()
@Controller('projects/:projectId/imports')
export class ImportReportHttpController {
  constructor(
    private readonly imports: ImportReportService,
    @Inject(CONFIG) private readonly config: LedgerEnv,
  ) {}

  /**
   * multipart/form-data with one file part named "file"; mode, trackHistory, force and wait come as
   * query parameters or as form fields placed before the file.
   */
  @Post()
  @HttpCode(202)
  @Access('imports.create', { projectParam: 'projectId' })
  @ApiConsumes('multipart/form-data')
  @ApiBody({ schema: { type: 'object', properties: { file: { type: 'string', format: 'binary' }, mode: { type: 'string', enum: [...IMPORT_MODES] }, trackHistory: { type: 'boolean' }, force: { type: 'boolean' } } } })
  @ApiQuery({ name: 'mode', required: false, enum: IMPORT_MODES })
  @ApiQuery({ name: 'trackHistory', required: false, type: Boolean })
  @ApiQuery({ name: 'force', required: false, type: Boolean })
  @ApiQuery({ name: 'wait', required: false, type: Boolean, description: 'answer once applied (200) instead of 202' })
  async create(@Param('projectId') projectId: string, @Req() req: Request, @Query() query: Record<string, string>, @CurrentPrincipal() p: Principal) {
    const allowed = new Set(['mode', 'trackHistory', 'force', 'wait']);
    for (const k of Object.keys(query)) if (!allowed.has(k)) throw new BadRequestException(`unknown parameter ${k}`);
    if (!/^multipart\/form-data/i.test(req.headers['content-type'] ?? '')) throw new HttpException('send the report as multipart/form-data with a part named "file"', HttpStatus.UNSUPPORTED_MEDIA_TYPE);

    const fields: Record<string, string> = { ...query };
    const { file, fileName } = await new Promise<{ file: PassThrough; fileName: string }>((resolve, reject) => {
      let bb: busboy.Busboy;
      try {
        bb = busboy({ headers: req.headers, limits: { files: 1, fields: 10, fieldSize: 1024 } });
      } catch (e) {
        return reject(new BadRequestException(`bad multipart request: ${(e as Error).message}`));
      }
      let got = false;
      let pass: PassThrough | undefined;
      // A broken upload (body ends inside the form, client gone) fails the file stream the spooler
      // reads: pipe() forwards neither errors nor aborts, and without this the request would hang
      // with its spool file open, and busboy's unhandled 'error' would take the process down.
      const fail = (e: Error) => (pass ? pass.destroy(e) : reject(e));
      bb.on('field', (name, value) => {
        if (!allowed.has(name)) return reject(new BadRequestException(`unknown field ${name}`));
        fields[name] = value;
      });
      bb.on('file', (name, stream, info) => {
        if (name !== 'file') {
          stream.resume();
          return reject(new BadRequestException(`unexpected file part "${name}": name it "file"`));
        }
        got = true;
        pass = new PassThrough({ highWaterMark: 1 << 20 });
        // The spooler hears the failure while it reads; once it has stopped, nobody needs to.
        pass.on('error', () => {});
        stream.on('error', (e: Error) => fail(new BadRequestException(`bad multipart request: ${e.message}`)));
        stream.pipe(pass);
        resolve({ file: pass, fileName: info.filename || 'report.xml' });
      });
      bb.on('error', (e) => fail(new BadRequestException(`bad multipart request: ${(e as Error).message}`)));
      bb.on('close', () => {
        if (!got) reject(new BadRequestException('no file part named "file" in the request'));
      });
      req.on('close', () => {
        if (!req.complete) fail(new BadRequestException('the upload was interrupted before the request body ended'));
      });
      req.pipe(bb);
    });

    const mode = (fields.mode ?? 'update') as ImportMode;
    if (!IMPORT_MODES.includes(mode)) {
      file.resume();
      throw new BadRequestException(`mode must be one of ${IMPORT_MODES.join(', ')}`);
    }
    const trackHistory = bool(fields.trackHistory, true, 'trackHistory');
    const force = bool(fields.force, false, 'force');
    const wait = bool(fields.wait, false, 'wait');

    let report;
    try {
      report = await spoolReport(file, this.config.LEDGER_SPOOL_DIR, { fileName, maxBytes: this.config.LEDGER_MAX_UPLOAD_BYTES });
    } catch (e) {
      if (isReportError(e)) throw new HttpException({ statusCode: 422, error: 'Unprocessable Entity', code: e.code, message: e.message }, 422);
      if (e instanceof UploadTooLargeError) throw new HttpException({ statusCode: 413, error: 'Payload Too Large', code: e.code, message: e.message }, 413);
      throw e;
    }
    try {
      if (!force) {
        const dup = await this.imports.findDuplicate(projectId, report.sha256);
        if (dup) return { importId: dup, status: 'duplicate', duplicateOf: dup, sha256: report.sha256, message: 'this report was already imported into the project; nothing changed (use force=true to apply it again)' };
      }
      let importId: string;
      try {
        importId = await this.imports.publish({ projectId, mode, trackHistory, force, fileName, actor: actorOf(p) }, report);
      } catch (e) {
        if (!(e instanceof ImportInterruptedError)) throw e;
        if (e.timedOut)
          throw new HttpException(
            { statusCode: 413, error: 'Payload Too Large', code: 'REPORT.TOO_LARGE', importId: e.importId, status: 'failed', message: `${e.message}; nothing of it was applied` },
            413,
          );
        throw new HttpException(
          {
            statusCode: 503,
            error: 'Service Unavailable',
            importId: e.importId,
            status: 'failed',
            message: 'the event log did not take the whole import (broker unavailable); nothing of it was applied, and it is recorded as failed once the broker is back; send the file again',
          },
          503,
        );
      }
      if (!wait) {
        // Bounded: a stalled projector must not hold the upload; the status poll then may 404 a while.
        await this.imports.waitApplied(projectId, importId, Math.min(this.config.LEDGER_WAIT_MS, VISIBLE_WAIT_MS), 'seen');
        return { importId, status: 'applying', hostCount: report.hostCount, sha256: report.sha256 };
      }
      return (await this.imports.waitApplied(projectId, importId, this.config.LEDGER_WAIT_MS)) ?? { importId, status: 'applying' };
    } finally {
      await report.discard();
    }
  }

  @Get()
  @Access('project.read', { projectParam: 'projectId' })
  async list(@Param('projectId') projectId: string, @Query('limit', new DefaultValuePipe(50), ParseIntPipe) limit: number) {
    return { items: await this.imports.list(projectId, Math.min(Math.max(limit, 1), 500)) };
  }

  @Get(':importId')
  @Access('project.read', { projectParam: 'projectId' })
  async get(@Param('projectId') projectId: string, @Param('importId') importId: string) {
    const s = await this.imports.status(projectId, importId);
    if (!s) throw new NotFoundException(`import ${importId} not found`);
    return s;
  }
}
