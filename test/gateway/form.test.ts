import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiError } from '../../src/gateway/errors.js';
import { mergeParams, parseForm } from '../../src/gateway/form.js';
import { percentEncode } from '../../src/gateway/percent-encode.js';

describe('percentEncode', () => {
  it('leaves only A-Z a-z 0-9 - _ . ~ unescaped', () => {
    assert.equal(percentEncode('AZaz09-_.~'), 'AZaz09-_.~');
    assert.equal(percentEncode("*!'()"), '%2A%21%27%28%29');
    assert.equal(percentEncode(' +/=&:'), '%20%2B%2F%3D%26%3A');
  });

  it('writes UTF-8 bytes in upper-case hex', () => {
    assert.equal(percentEncode('ünï'), '%C3%BCn%C3%AF');
    assert.equal(percentEncode('负载'), '%E8%B4%9F%E8%BD%BD');
    assert.equal(percentEncode('😀'), '%F0%9F%98%80');
  });

  it('encodes the empty string as empty', () => {
    assert.equal(percentEncode(''), '');
  });
});

describe('parseForm', () => {
  it('decodes + and %20 as spaces and %XX as UTF-8', () => {
    assert.deepEqual(parseForm('a=x+y&b=x%20y&c=%C3%BCn%C3%AFcode&d=%2B'), [
      ['a', 'x y'],
      ['b', 'x y'],
      ['c', 'ünïcode'],
      ['d', '+'],
    ]);
  });

  it("keeps raw *!'()~ as they are", () => {
    assert.deepEqual(parseForm("k=*!'()~"), [['k', "*!'()~"]]);
  });

  it('keeps empty values and names without =', () => {
    assert.deepEqual(parseForm('Key=&Flag&Other=1'), [
      ['Key', ''],
      ['Flag', ''],
      ['Other', '1'],
    ]);
  });

  it('splits on the first = only and decodes names too', () => {
    assert.deepEqual(parseForm('a=b=c&Tag.1%2EKey=x'), [
      ['a', 'b=c'],
      ['Tag.1.Key', 'x'],
    ]);
  });

  it('skips empty segments and returns nothing for an empty string', () => {
    assert.deepEqual(parseForm(''), []);
    assert.deepEqual(parseForm('&a=1&&b=2&'), [
      ['a', '1'],
      ['b', '2'],
    ]);
  });

  it('keeps repeated names in wire order', () => {
    assert.deepEqual(parseForm('a=1&a=2'), [
      ['a', '1'],
      ['a', '2'],
    ]);
  });

  it('keeps well-formed raw non-ASCII text but refuses a raw unpaired surrogate', () => {
    assert.deepEqual(parseForm('k=ü😀'), [['k', 'ü😀']]);
    assert.throws(() => parseForm('k=\uD800'), ApiError);
  });

  for (const bad of ['a=%zz', 'a=%', 'a=%4', '%zz=1', 'a=%C3', 'a=%FF%FE', 'a=%ED%A0%80']) {
    it(`refuses malformed ${bad} with IllegalParam`, () => {
      assert.throws(
        () => parseForm(bad),
        (err: unknown) => err instanceof ApiError && err.code === 'IllegalParam' && err.httpStatus === 400,
      );
    });
  }
});

describe('mergeParams', () => {
  it('lets the body win over the query, and the last occurrence win within one source', () => {
    const params = mergeParams(
      [
        ['a', 'q1'],
        ['a', 'q2'],
        ['b', 'q'],
      ],
      [
        ['b', 'b1'],
        ['b', 'b2'],
        ['c', 'b'],
      ],
    );
    assert.deepEqual({ ...params }, { a: 'q2', b: 'b2', c: 'b' });
  });

  it('treats __proto__ and constructor as ordinary names', () => {
    const params = mergeParams(parseForm('__proto__=x&constructor=y'), []);
    assert.equal(Object.getPrototypeOf(params), null);
    assert.equal(params.__proto__, 'x');
    assert.equal(params.constructor, 'y');
    assert.deepEqual(Object.keys(params), ['__proto__', 'constructor']);
    assert.equal(({} as Record<string, unknown>).x, undefined);
  });

  it('has no inherited names', () => {
    const params = mergeParams([], []);
    assert.equal(params.toString, undefined);
    assert.equal(params.hasOwnProperty, undefined);
  });
});
