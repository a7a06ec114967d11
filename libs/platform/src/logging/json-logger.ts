import type { LoggerService } from '@nestjs/common';

const LEVELS = { debug: 10, verbose: 10, info: 20, log: 20, warn: 30, error: 40, fatal: 50 } as const;
type Level = keyof typeof LEVELS;

// Bearer tokens and our token format must never reach a log line, whatever a caller passes in.
const SECRET_PATTERNS = [/fal_[A-Za-z0-9_-]{8,}/g, /(Bearer\s+)[^\s"']+/gi, /(password|secret|token)(["']?\s*[:=]\s*["']?)[^\s"',}]+/gi, /whsec_[A-Za-z0-9_-]{8,}/g];

export function redact(text: string): string {
  let out = text;
  out = out.replace(SECRET_PATTERNS[0], 'fal_[redacted]');
  out = out.replace(SECRET_PATTERNS[1], '$1[redacted]');
  out = out.replace(SECRET_PATTERNS[2], '$1$2[redacted]');
  out = out.replace(SECRET_PATTERNS[3], 'whsec_[redacted]');
  return out;
}

/** One JSON object per line on stdout: easy to grep, ship and parse. */
export class JsonLogger implements LoggerService {
  private readonly min: number;
  constructor(
    private readonly service: string,
    level: string = process.env.LOG_LEVEL ?? 'info',
    private readonly out: (line: string) => void = (l) => process.stdout.write(l + '\n'),
  ) {
    this.min = LEVELS[(level as Level) in LEVELS ? (level as Level) : 'info'];
  }

  private write(level: Level, message: unknown, context?: unknown, extra?: Record<string, unknown>): void {
    if (LEVELS[level] < this.min) return;
    const rec: Record<string, unknown> = { time: new Date().toISOString(), level: level === 'log' ? 'info' : level, service: this.service };
    if (typeof context === 'string') rec.context = context;
    if (message instanceof Error) {
      rec.msg = message.message;
      rec.err = { name: message.name, code: (message as { code?: unknown }).code, stack: message.stack };
    } else if (typeof message === 'object' && message !== null) Object.assign(rec, message);
    else rec.msg = String(message);
    if (extra) Object.assign(rec, extra);
    this.out(redact(JSON.stringify(rec)));
  }

  log(message: unknown, context?: string): void { this.write('info', message, context); }
  info(message: unknown, extra?: Record<string, unknown>): void { this.write('info', message, undefined, extra); }
  warn(message: unknown, context?: string): void { this.write('warn', message, context); }
  debug(message: unknown, context?: string): void { this.write('debug', message, context); }
  verbose(message: unknown, context?: string): void { this.write('debug', message, context); }
  fatal(message: unknown, context?: string): void { this.write('fatal', message, context); }
  error(message: unknown, traceOrContext?: string, context?: string): void {
    this.write('error', message, context ?? (traceOrContext && !traceOrContext.includes('\n') ? traceOrContext : undefined));
  }
}
