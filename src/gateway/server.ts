/**
 * The HTTP adapter: Fastify in front of ApiGateway. It hands the gateway the exact bytes
 * received (signatures cover them), applies the server's limits and timeouts (ApiLimits, one
 * place), and makes sure even failures outside any route — unknown path or method, CONNECT,
 * oversized headers or body, unparseable HTTP, a stalled request — are answered as Alibaba
 * JSON errors.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { DEFAULT_API_LIMITS, type ApiLimits } from '../config/config.js';
import { ApiError } from './errors.js';
import type { ApiGateway, ApiReply } from './pipeline.js';
import { newRequestId } from '../util/ids.js';

export function buildApiServer(gateway: ApiGateway, limits: ApiLimits = DEFAULT_API_LIMITS): FastifyInstance {
  const refusal = (err: ApiError): ApiReply => gateway.errorReply(err, newRequestId(), undefined, gateway.defaultRegionId);

  const app = Fastify({
    logger: false,
    bodyLimit: limits.maxBodyBytes,
    return503OnClosing: false,
    exposeHeadRoutes: false,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    http: {
      maxHeaderSize: limits.maxHeaderBytes,
      headersTimeout: limits.headersTimeoutMs,
      connectionsCheckingInterval: limits.timeoutCheckIntervalMs,
    },
    // Errors Node's HTTP parser raises before there is a request object (Fastify's own
    // default answers them in its own JSON shape).
    clientErrorHandler: (err: NodeJS.ErrnoException, socket: Duplex) => {
      if (err.code === 'ECONNRESET' || socket.destroyed) return;
      // A response is already on this connection (e.g. a 413 while the body still streams in):
      // writing another would corrupt it.
      if ((socket as Duplex & { _httpMessage?: ServerResponse })._httpMessage?.headersSent) {
        socket.destroy();
        return;
      }
      writeRawAndClose(socket, refusal(clientErrorToApiError(err, limits)));
    },
  });
  app.server.maxConnections = limits.maxConnections;

  // CONNECT never reaches a route: without a listener Node closes the socket without a word.
  app.server.on('connect', (_req: IncomingMessage, socket: Duplex) => writeRawAndClose(socket, refusal(unsupportedMethod())));

  // `Expect: 100-continue`: look at the announced size before inviting the body.
  app.server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    if (announcedLength(req) > limits.maxBodyBytes) {
      req.resume();
      writeRawAndClose(req.socket, refusal(bodyTooLarge(limits)));
      return;
    }
    res.writeContinue();
    app.server.emit('request', req, res);
  });

  // A body announced too big is refused before any of it is read. Node's own response path
  // would close the socket with the body still arriving, and the kernel would answer that
  // with a reset the client sees instead of the reply; so the reply goes out raw, the rest of
  // the body is read and dropped, and the connection closes once the client is done.
  app.addHook('onRequest', async (request, reply) => {
    if (announcedLength(request.raw) > limits.maxBodyBytes) refuseBody(request, reply, refusal(bodyTooLarge(limits)));
  });

  // Keep every body as raw bytes: the gateway parses forms itself, after hashing them.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: limits.maxBodyBytes }, (_req, body, done) => done(null, body));

  const handle = async (request: FastifyRequest, reply: FastifyReply) => {
    const url = request.raw.url ?? '/';
    const q = url.indexOf('?');
    const result = await gateway.handle({
      method: request.method,
      path: q === -1 ? url : url.slice(0, q),
      rawQuery: q === -1 ? '' : url.slice(q + 1),
      headers: request.raw.headersDistinct,
      body: Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0),
    });
    return send(reply, result);
  };
  app.get('/', handle);
  app.post('/', handle);

  // Any other method on `/` (TRACE and WebDAV verbs included) is 405; any other path is 404.
  app.setNotFoundHandler(async (request, reply) => {
    const url = request.raw.url ?? '/';
    const path = url.split('?', 1)[0];
    return send(
      reply,
      refusal(
        path === '/'
          ? unsupportedMethod()
          : new ApiError('InvalidAction.NotFound', 'Specified api is not found, please check your url and method.', 404),
      ),
    );
  });

  app.setErrorHandler(async (error: Error & { statusCode?: number; code?: string }, request, reply) => {
    // Fastify's own rejections (body too large, bad content length, …) are the caller's mistakes.
    const status = error.statusCode ?? 500;
    // A streamed (chunked) body that outgrew the limit: the rest is still on its way.
    if (status === 413) return refuseBody(request, reply, refusal(bodyTooLarge(limits)));
    const apiError = status === 413 ? bodyTooLarge(limits) : status >= 400 && status < 500 ? malformedRequest() : error;
    return send(reply, gateway.errorReply(apiError, newRequestId(), undefined, gateway.defaultRegionId));
  });

  return app;
}

function clientErrorToApiError(err: NodeJS.ErrnoException, limits: ApiLimits): ApiError {
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW':
      return new ApiError('RequestHeaderFieldsTooLarge', `The request line and headers exceed ${limits.maxHeaderBytes} bytes.`, 431);
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new ApiError('RequestTimeout', `The request did not arrive completely within ${limits.requestTimeoutMs} ms.`, 408);
    case 'HPE_INVALID_METHOD': {
      // A method-like word is a method we do not serve; other bytes (TLS to a plain port …) are not HTTP.
      const start = (err as NodeJS.ErrnoException & { rawPacket?: Buffer }).rawPacket?.subarray(0, 32).toString('latin1') ?? '';
      return /^[A-Z][A-Z-]* /.test(start) ? unsupportedMethod() : malformedRequest();
    }
    default:
      return malformedRequest();
  }
}

function unsupportedMethod(): ApiError {
  return new ApiError('UnsupportedHTTPMethod', 'The HTTP method is not supported; use GET or POST.', 405);
}

function malformedRequest(): ApiError {
  return new ApiError('MalformedRequest', 'The request could not be read as HTTP/1.1.', 400);
}

function bodyTooLarge(limits: ApiLimits): ApiError {
  return new ApiError('RequestEntityTooLarge', `The request body exceeds ${limits.maxBodyBytes} bytes.`, 413);
}

/** The Content-Length a request announces (0 when none; a malformed one the parser refuses itself). */
function announcedLength(req: IncomingMessage): number {
  const value = req.headers['content-length'];
  return value === undefined ? 0 : Number(value);
}

/**
 * Answers on a bare socket (no request object exists) and closes it. The close is a half-close
 * after the reply: the client reads the error instead of a reset, and whatever it still sends
 * is discarded until it hangs up or the socket's short linger ends.
 */
function writeRawAndClose(socket: Duplex, reply: ApiReply): void {
  const body = JSON.stringify(reply.body);
  const head =
    `HTTP/1.1 ${reply.status} ${STATUS_TEXT[reply.status] ?? 'Error'}\r\n` +
    'content-type: application/json;charset=utf-8\r\n' +
    `content-length: ${Buffer.byteLength(body)}\r\n` +
    'connection: close\r\n\r\n';
  socket.on('error', () => undefined);
  socket.end(head + body);
  lingerThenDestroy(socket);
}

function refuseBody(request: FastifyRequest, reply: FastifyReply, refused: ApiReply): void {
  reply.hijack();
  request.raw.resume();
  writeRawAndClose(request.raw.socket, refused);
}

const LINGER_MS = 2_000;

function lingerThenDestroy(socket: Duplex): void {
  socket.resume();
  const timer = setTimeout(() => socket.destroy(), LINGER_MS);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  413: 'Payload Too Large',
  431: 'Request Header Fields Too Large',
};

function send(reply: FastifyReply, result: ApiReply) {
  reply.code(result.status).header('content-type', 'application/json;charset=utf-8');
  for (const [name, value] of Object.entries(result.headers ?? {})) reply.header(name, value);
  return reply.send(JSON.stringify(result.body));
}
