/**
 * The fault and reset API on the admin listener (plain JSON; like /metrics it has no
 * authentication, so keep the admin listener on loopback):
 *
 *   GET    /faults        → { rules: [...] }
 *   POST   /faults        a rule as JSON (see README) → 201 { rule }
 *   DELETE /faults/:id    → { removed: id }, 404 when unknown
 *   DELETE /faults        → { removed: n }
 *   POST   /reset         { "accounts": true }? → { revision, deleted, dataPlaneSettled }
 *
 * Errors are { Code, Message } with 400 (bad rule, bad JSON) or 404.
 */
import type { FastifyError, FastifyInstance } from 'fastify';
import { FaultRuleError, faultRuleJson, parseFaultRuleSpec } from '../domain/fault-rules.js';
import { addFaultRule, clearFaultRules, listFaultRules, removeFaultRule } from '../store/fault-rules.js';
import type { Store } from '../store/types.js';
import type { Clock } from '../util/clock.js';
import { resetStore, waitForDataPlane } from './reset.js';
import type { Logger } from 'pino';

export interface FaultRoutesOptions {
  store: Store;
  clock: Clock;
  nodeTimeoutMs: number;
  log?: Logger;
  /** How long POST /reset waits for the data plane to close what the reset removed. */
  resetWaitMs?: number;
}

export function registerFaultRoutes(app: FastifyInstance, opts: FaultRoutesOptions): void {
  const { store, clock, log } = opts;
  void app.register(async (scope) => {
    scope.setErrorHandler(async (error: FastifyError, _request, reply) => {
      if (error instanceof FaultRuleError) return reply.code(400).send({ Code: 'InvalidFaultRule', Message: error.message });
      const status = error.statusCode ?? 500;
      if (status >= 400 && status < 500) return reply.code(400).send({ Code: 'MalformedRequest', Message: error.message });
      log?.error({ err: error }, 'admin request failed');
      return reply.code(500).send({ Code: 'InternalError', Message: 'The request processing has failed.' });
    });

    scope.get('/faults', async () => ({ rules: (await listFaultRules(store.db)).map(faultRuleJson) }));

    scope.post('/faults', async (request, reply) => {
      const spec = parseFaultRuleSpec(request.body, clock.now());
      const rule = await addFaultRule(store, spec, clock.now());
      log?.info({ ruleId: rule.id, rule: spec }, 'fault rule added');
      return reply.code(201).send({ rule: faultRuleJson(rule) });
    });

    scope.delete('/faults', async () => {
      const removed = await clearFaultRules(store);
      log?.info({ removed }, 'fault rules cleared');
      return { removed };
    });

    scope.delete<{ Params: { id: string } }>('/faults/:id', async (request, reply) => {
      const { id } = request.params;
      if (!(await removeFaultRule(store, id))) {
        return reply.code(404).send({ Code: 'FaultRuleNotFound', Message: `No fault rule ${id}.` });
      }
      log?.info({ ruleId: id }, 'fault rule removed');
      return { removed: id };
    });

    scope.post<{ Body: { accounts?: unknown } | undefined }>('/reset', async (request, reply) => {
      const body = request.body ?? {};
      if (typeof body !== 'object' || (body.accounts !== undefined && typeof body.accounts !== 'boolean')) {
        return reply.code(400).send({ Code: 'MalformedRequest', Message: 'The reset body is {"accounts": true|false}.' });
      }
      const result = await resetStore(store, { accounts: body.accounts === true });
      const dataPlaneSettled = await waitForDataPlane(store, result.revision, {
        now: () => clock.now(),
        nodeTimeoutMs: opts.nodeTimeoutMs,
        timeoutMs: opts.resetWaitMs ?? 10_000,
      });
      log?.warn({ ...result, dataPlaneSettled }, 'store reset');
      return { ...result, dataPlaneSettled };
    });
  });
}
