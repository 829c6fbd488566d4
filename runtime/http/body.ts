/**
 * Reading a request body with a size limit. A body over the limit is answered 413, after the
 * rest of it has been read and discarded, so the client sees the answer instead of a reset
 * connection. A client that keeps sending far past the limit is cut off.
 */
import type * as http from 'node:http';

/** Request bodies above this are refused before parsing (PutEvents and SQS allow 1 MiB of entries). */
export const MAX_BODY_BYTES = 8 * 1024 * 1024;
/** How much of an oversized body is read and discarded before the connection is closed instead. */
const MAX_DISCARD_BYTES = 64 * 1024 * 1024;

export type BodyResult = { ok: true; body: Buffer } | { ok: false; tooLarge: true; bytes: number; drained: boolean };

export function readBody(req: http.IncomingMessage, limit = MAX_BODY_BYTES): Promise<BodyResult> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    const chunks: Buffer[] = [];
    let size = 0;
    let over = Number.isFinite(declared) && declared > limit;
    const finish = (r: BodyResult) => {
      req.removeAllListeners('data');
      req.removeAllListeners('end');
      resolve(r);
    };
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) over = true;
      if (over) {
        chunks.length = 0;
        if (size > limit + MAX_DISCARD_BYTES) {
          req.pause();
          finish({ ok: false, tooLarge: true, bytes: size, drained: false });
        }
        return;
      }
      chunks.push(c);
    });
    req.on('end', () =>
      finish(over ? { ok: false, tooLarge: true, bytes: size, drained: true } : { ok: true, body: Buffer.concat(chunks) }),
    );
    req.on('error', reject);
    // A client that goes away mid-body: nothing to answer, but the caller must not wait forever.
    req.on('close', () => reject(new Error('The client closed the connection before the body was complete.')));
  });
}
