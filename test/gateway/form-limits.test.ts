/** parseForm's bounds: counted across query and body, refused while splitting or before decoding. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseForm } from '../../src/gateway/form.js';
import { ApiError } from '../../src/gateway/errors.js';

const limits = { maxParams: 3, maxParamNameLength: 4 };
const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return err instanceof ApiError ? err.code : String(err);
  }
  return 'accepted';
};

test('the parameter count includes what came before (the query) and skips empty segments', () => {
  assert.equal(parseForm('a=1&&b=2&c=3&', limits).length, 3);
  assert.equal(
    code(() => parseForm('a=1&b=2&c=3&d=4', limits)),
    'InvalidParameter.TooMany',
  );
  assert.equal(
    code(() => parseForm('c=3&d=4', limits, 2)),
    'InvalidParameter.TooMany',
  );
  assert.equal(parseForm('c=3', limits, 2).length, 1);
});

test('name length counts decoded characters; a name too long even fully escaped is refused undecoded', () => {
  assert.deepEqual(parseForm('%E2%82%AC%E2%82%AC%E2%82%AC%E2%82%AC=x', limits), [['€€€€', 'x']]);
  assert.equal(
    code(() => parseForm('abcde=1', limits)),
    'InvalidParameter.NameTooLong',
  );
  // Not decodable, but refused for its length first: no decoding work is spent on it.
  assert.equal(
    code(() => parseForm(`${'%zz'.repeat(20)}=1`, limits)),
    'InvalidParameter.NameTooLong',
  );
  // Without limits nothing changes.
  assert.equal(parseForm('abcdefgh=1&b=2&c=3&d=4').length, 4);
});
