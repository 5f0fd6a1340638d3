/**
 * The yardstick for API overhead: a bare Fastify server with the same form-body parsing the
 * gateway uses and JSON replies shaped like DescribeRegions and CreateListener, but no
 * signature check, no authorization, no parameter decoding and no store. Run as its own
 * process, like OpenSLB: `node --import tsx bench/lib/bare-fastify.ts <port>`.
 */
import { randomUUID } from 'node:crypto';
import Fastify from 'fastify';
import formBody from '@fastify/formbody';

const port = Number(process.argv[2]);
const app = Fastify({ logger: false });
await app.register(formBody);

const regions = { Regions: [{ RegionId: 'cn-hangzhou', LocalName: 'China (Hangzhou)', RegionEndpoint: 'nlb.cn-hangzhou.aliyuncs.com' }] };
let listenerSeq = 0;

app.post('/', async (request) => {
  const action = (request.query as Record<string, string>).Action ?? (request.body as Record<string, string> | undefined)?.Action;
  if (action === 'CreateListener') {
    listenerSeq++;
    return { RequestId: randomUUID(), ListenerId: `lsn-bare${listenerSeq}`, JobId: randomUUID() };
  }
  return { RequestId: randomUUID(), ...regions };
});

await app.listen({ host: '127.0.0.1', port });
const stop = () => void app.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
