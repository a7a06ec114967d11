import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { basename } from 'node:path';
import { ApiError, errorFromNetwork, errorFromResponse, networkCode } from './errors.js';
import type { HttpClient } from './http.js';

export interface UploadFile {
  readonly path: string;
  readonly size: number;
  readonly contentType?: string;
}

export type ProgressFn = (sent: number, total: number) => void;

export function multipartParts(boundary: string, fields: Record<string, string>, file: UploadFile): { head: Buffer; tail: Buffer } {
  const quote = (s: string) => s.replace(/["\r\n\\]/g, '_');
  let head = '';
  for (const [k, v] of Object.entries(fields)) {
    head += `--${boundary}\r\ncontent-disposition: form-data; name="${quote(k)}"\r\n\r\n${v}\r\n`;
  }
  head += `--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="${quote(basename(file.path))}"\r\ncontent-type: ${file.contentType ?? 'application/xml'}\r\n\r\n`;
  return { head: Buffer.from(head), tail: Buffer.from(`\r\n--${boundary}--\r\n`) };
}

/**
 * How long the server may work on a whole upload before it answers, with nothing on the wire
 * meanwhile (an import: parsing and publishing it), and what to tell the user if it does not.
 */
export interface AnswerWait {
  readonly timeoutMs: number;
  readonly hint: string;
}

/**
 * Streams a file as multipart/form-data (field `file`) with an exact content-length, reporting
 * bytes as the socket accepts them, so a report of any size never sits in memory. fetch cannot
 * report upload progress, hence node:http. The client's timeout limits silence while the file goes
 * out; once it is sent, `answer` (if longer) limits the wait for the server's answer.
 */
export function uploadMultipart<T>(http: HttpClient, path: string, fields: Record<string, string>, file: UploadFile, onProgress?: ProgressFn, answer?: AnswerWait): Promise<T> {
  const boundary = `falcli-${randomBytes(12).toString('hex')}`;
  const { head, tail } = multipartParts(boundary, fields, file);
  const total = head.length + file.size + tail.length;
  const url = new URL(http.baseUrl + path);
  const at = http.site('POST', path);
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;

  return new Promise<T>((resolve, reject) => {
    let sent = 0;
    const tick = (n: number) => {
      sent += n;
      onProgress?.(sent, total);
    };
    const req = send(url, {
      method: 'POST',
      headers: http.headers({ 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': String(total) }),
      timeout: http.timeoutMs,
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timed out'), { code: 'TIMEOUT' })));
    let responded = false;
    let waitingForAnswer = false;
    const answerLimit = Math.max(answer?.timeoutMs ?? 0, http.timeoutMs);
    const failure = (e: unknown) => {
      if (!waitingForAnswer || !answer || networkCode(e) !== 'TIMEOUT') return errorFromNetwork(e, at, http.timeoutMs);
      const minutes = Math.round(answerLimit / 60_000);
      return new ApiError('server', `the ${at.service} at ${at.baseUrl} took the whole upload but has not answered within ${minutes >= 1 ? `${minutes} min` : `${answerLimit / 1000} s`}`, at.service, null, answer.hint);
    };
    // A server that refuses early (401, 413) may close while the body is still going out: its
    // answer, if one comes, says more than the broken pipe.
    req.on('error', (e) => {
      if (!responded) setTimeout(() => responded || reject(failure(e)), 200);
    });
    req.on('response', (res) => {
      responded = true;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) {
          try {
            resolve((text ? JSON.parse(text) : undefined) as T);
          } catch {
            resolve(text as T);
          }
        } else reject(errorFromResponse(status, text, at));
      });
    });
    req.write(head);
    tick(head.length);
    const stream = createReadStream(file.path);
    stream.on('data', (c) => tick(c.length));
    stream.on('error', (e) => req.destroy(e));
    stream.on('end', () => {
      req.end(tail);
      tick(tail.length);
      waitingForAnswer = true;
      req.setTimeout(answerLimit);
    });
    stream.pipe(req, { end: false });
  });
}
