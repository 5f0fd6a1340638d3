/**
 * The HTTP adapter: Fastify in front of ApiGateway. It hands the gateway the exact bytes
 * received (signatures cover them) and makes sure even the framework's own failures — unknown
 * path, wrong method, oversized or unreadable body — are answered as Alibaba JSON errors.
 */
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { ApiError } from './errors.js';
import type { ApiGateway, ApiReply } from './pipeline.js';
import { newRequestId } from '../util/ids.js';

const BODY_LIMIT = 1024 * 1024;

export function buildApiServer(gateway: ApiGateway): FastifyInstance {
  const app = Fastify({ logger: false, bodyLimit: BODY_LIMIT, return503OnClosing: false, exposeHeadRoutes: false });

  // Keep every body as raw bytes: the gateway parses forms itself, after hashing them.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: BODY_LIMIT }, (_req, body, done) => done(null, body));

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
  app.route({
    method: ['PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'],
    url: '/',
    handler: async (_request, reply) =>
      send(
        reply,
        gateway.errorReply(
          new ApiError('UnsupportedHTTPMethod', 'The HTTP method is not supported; use GET or POST.', 405),
          newRequestId(),
          undefined,
          gateway.defaultRegionId,
        ),
      ),
  });

  app.setNotFoundHandler(async (_request, reply) =>
    send(
      reply,
      gateway.errorReply(
        new ApiError('InvalidAction.NotFound', 'Specified api is not found, please check your url and method.', 404),
        newRequestId(),
        undefined,
        gateway.defaultRegionId,
      ),
    ),
  );

  app.setErrorHandler(async (error: Error & { statusCode?: number; code?: string }, _request, reply) => {
    // Fastify's own rejections (body too large, bad content length, …) are the caller's mistakes.
    const status = error.statusCode ?? 500;
    const apiError =
      status === 413
        ? new ApiError('RequestEntityTooLarge', `The request body exceeds ${BODY_LIMIT} bytes.`, 413)
        : status >= 400 && status < 500
          ? new ApiError('MalformedRequest', 'The request could not be read.', 400)
          : error;
    return send(reply, gateway.errorReply(apiError, newRequestId(), undefined, gateway.defaultRegionId));
  });

  return app;
}

function send(reply: FastifyReply, result: ApiReply) {
  reply.code(result.status).header('content-type', 'application/json;charset=utf-8');
  for (const [name, value] of Object.entries(result.headers ?? {})) reply.header(name, value);
  return reply.send(JSON.stringify(result.body));
}
