/**
 * Raw HTTP/1.1 over a real socket, for requests no well-behaved client would send (stalled
 * bodies, oversized headers, unknown methods). Resolves when the server closes the connection,
 * or after `giveUpMs` (then `closedByServer` is false).
 */
import net from 'node:net';

export interface RawExchange {
  /** Everything the server sent. */
  text: string;
  status: number | undefined;
  /** The JSON body of the (last) response, when it has one. */
  body: any;
  closedByServer: boolean;
  /** A socket error seen before the close (ECONNRESET means the reply may have been lost). */
  error: string | undefined;
}

export function rawExchange(
  port: number,
  data: string | Buffer,
  opts: { giveUpMs?: number; host?: string; then?: (socket: net.Socket) => void } = {},
): Promise<RawExchange> {
  return new Promise((resolve) => {
    const socket = net.connect(port, opts.host ?? '127.0.0.1');
    const chunks: Buffer[] = [];
    let error: string | undefined;
    let closedByServer = true;
    const giveUp = setTimeout(() => {
      closedByServer = false;
      socket.destroy();
    }, opts.giveUpMs ?? 30_000);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', (e: NodeJS.ErrnoException) => (error ??= e.code ?? e.message));
    socket.on('close', () => {
      clearTimeout(giveUp);
      const text = Buffer.concat(chunks).toString('utf8');
      const statuses = [...text.matchAll(/^HTTP\/1\.1 (\d{3})/gm)].map((m) => Number(m[1]));
      const status = statuses.filter((s) => s !== 100).pop();
      const jsonStart = text.lastIndexOf('\r\n\r\n{');
      let body: any;
      try {
        body = jsonStart === -1 ? undefined : JSON.parse(text.slice(jsonStart + 4));
      } catch {
        body = undefined;
      }
      resolve({ text, status, body, closedByServer, error });
    });
    socket.write(data);
    opts.then?.(socket);
  });
}

/** The Alibaba error envelope, and nothing Fastify-shaped. */
export function isAlibabaError(body: any): boolean {
  return (
    typeof body === 'object' &&
    body !== null &&
    typeof body.RequestId === 'string' &&
    typeof body.HostId === 'string' &&
    typeof body.Code === 'string' &&
    typeof body.Message === 'string' &&
    typeof body.Recommend === 'string' &&
    !('statusCode' in body) &&
    !('error' in body)
  );
}
