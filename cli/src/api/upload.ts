import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { basename } from 'node:path';
import { errorFromNetwork, errorFromResponse } from './errors.js';
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
 * Streams a file as multipart/form-data (field `file`) with an exact content-length, reporting
 * bytes as the socket accepts them, so a report of any size never sits in memory. fetch cannot
 * report upload progress, hence node:http.
 */
export function uploadMultipart<T>(http: HttpClient, path: string, fields: Record<string, string>, file: UploadFile, onProgress?: ProgressFn): Promise<T> {
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
    // A server that refuses early (401, 413) may close while the body is still going out: its
    // answer, if one comes, says more than the broken pipe.
    req.on('error', (e) => {
      if (!responded) setTimeout(() => responded || reject(errorFromNetwork(e, at, http.timeoutMs)), 200);
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
    });
    stream.pipe(req, { end: false });
  });
}
