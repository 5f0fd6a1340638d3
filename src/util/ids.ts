import { randomBytes, randomUUID } from 'node:crypto';

/** RequestIds look like upper-case UUIDs in every Alibaba reply. */
export function newRequestId(): string {
  return randomUUID().toUpperCase();
}

const ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** Resource IDs such as `nlb-83ckzc8d4xlp8o2b1c`: a prefix and 20 lower-case alphanumerics. */
export function newResourceId(prefix: string, length = 20): string {
  const bytes = randomBytes(length);
  let out = `${prefix}-`;
  for (let i = 0; i < length; i++) out += ID_ALPHABET[bytes[i] % ID_ALPHABET.length];
  return out;
}

/** Job IDs are lower-case UUIDs, as in the cloud's examples. */
export function newJobId(): string {
  return randomUUID();
}
