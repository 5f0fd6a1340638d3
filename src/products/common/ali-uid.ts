/**
 * `AliUid`: the account ID as the JSON number the SDK models declare (int64). Only an ID that
 * survives the trip through a double is answered; an account created by an older OpenSLB with a
 * larger ID gets no AliUid rather than a wrong one.
 */
export function aliUid(accountId: string): number | undefined {
  if (!/^\d{1,16}$/.test(accountId)) return undefined;
  const n = Number(accountId);
  return Number.isSafeInteger(n) ? n : undefined;
}
