import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  GWLB_LISTENER,
  GWLB_LOAD_BALANCER,
  GWLB_SERVER_GROUP,
  NLB_LISTENER,
  NLB_LOAD_BALANCER,
  NLB_SECURITY_POLICY,
  NLB_SERVER_GROUP,
  settle,
  type StatusMachine,
} from '../../src/domain/status-machines.js';

const machines: Record<string, StatusMachine<string>> = {
  NLB_LOAD_BALANCER,
  NLB_LISTENER,
  NLB_SERVER_GROUP,
  NLB_SECURITY_POLICY,
  GWLB_LOAD_BALANCER,
  GWLB_LISTENER,
  GWLB_SERVER_GROUP,
};

test('an outcome settles in its status, back in the previous one, or deletes the resource', () => {
  assert.equal(settle({ status: 'Running' }, 'Stopped'), 'Running');
  assert.equal(settle('previous', 'Stopped'), 'Stopped');
  assert.equal(settle('gone', 'Running'), null);
});

test('NLB listeners: start, stop, reconfigure and delete settle as the API documents', () => {
  const t = NLB_LISTENER.transitions;
  assert.deepEqual(
    [t.start.via, settle(t.start.onSuccess, 'Stopped'), settle(t.start.onFailure, 'Stopped')],
    ['Starting', 'Running', 'Stopped'],
  );
  assert.deepEqual(
    [t.stop.via, settle(t.stop.onSuccess, 'Running'), settle(t.stop.onFailure, 'Running')],
    ['Stopping', 'Stopped', 'Running'],
  );
  // Reconfiguring a stopped listener does not start it.
  assert.equal(settle(t.configure.onSuccess, 'Stopped'), 'Stopped');
  assert.equal(settle(t.configure.onSuccess, 'Running'), 'Running');
  assert.equal(settle(t.delete.onSuccess, 'Running'), null);
  assert.equal(settle(t.delete.onFailure, 'Stopped'), 'Stopped');
  // A listener whose port cannot be bound exists but forwards nothing.
  assert.equal(settle(t.create.onFailure, t.create.via), 'Stopped');
});

test('the data plane runs a listener while it is being created, configured or started, never while stopping or deleting', () => {
  for (const [name, m] of Object.entries({ NLB_LISTENER, GWLB_LISTENER })) {
    const t = m.transitions as Record<string, { via: string; onSuccess: unknown }>;
    for (const kind of ['create', 'configure', 'start']) {
      if (t[kind]) assert.ok(m.bound.has(t[kind].via), `${name}.${kind} via ${t[kind].via} must be bound`);
    }
    for (const kind of ['stop', 'delete']) {
      if (t[kind]) assert.ok(!m.bound.has(t[kind].via), `${name}.${kind} via ${t[kind].via} must not be bound`);
    }
    assert.ok(m.bound.has('Running') && !m.bound.has('Stopped'), name);
  }
});

test('every machine: a transitional status is never a settled one, and creation never settles in its own transitional status', () => {
  for (const [name, m] of Object.entries(machines)) {
    const transitions = Object.entries(m.transitions);
    const vias = new Set(transitions.map(([, t]) => t.via));
    for (const [kind, t] of transitions) {
      for (const outcome of [t.onSuccess, t.onFailure]) {
        if (typeof outcome === 'object') assert.ok(!vias.has(outcome.status), `${name}.${kind} settles in transitional ${outcome.status}`);
      }
    }
    const create = (m.transitions as Record<string, { via: string; onSuccess: unknown; onFailure: unknown }>).create;
    assert.ok(create, `${name} has a create transition`);
    // 'previous' after a creation would leave the resource in its transitional status for good.
    assert.notEqual(create.onSuccess, 'previous', name);
    assert.notEqual(create.onFailure, 'previous', name);
  }
});

test('every machine: a resource accepts a change only in a settled status, which a successful creation reaches and no job in flight holds', () => {
  for (const [name, m] of Object.entries(machines)) {
    assert.ok(m.settled.size > 0, `${name} has settled statuses`);
    for (const [kind, t] of Object.entries(m.transitions)) {
      assert.ok(!m.settled.has(t.via), `${name}.${kind}: a change in flight (${t.via}) must refuse the next one`);
    }
    const create = (m.transitions as Record<string, { onSuccess: { status: string } | string }>).create.onSuccess;
    if (typeof create === 'object') assert.ok(m.settled.has(create.status), `${name}: created resources settle in ${create.status}`);
  }
});
