/**
 * Server certificates of the certificate service (CAS 2020-04-07): UploadUserCertificate,
 * GetUserCertificateDetail, ListUserCertificateOrder, DeleteUserCertificate — and the
 * look-ups TCPSSL listeners and the data plane use: `findCertificate` and
 * `listenersUsingCertificate`.
 *
 * Certificates are account-wide, as in the cloud, where an NLB in any region takes
 * `<CertId>-cn-hangzhou`: rows carry the region they were uploaded in (the suffix of their
 * identifier) but every list and look-up spans all regions.
 */
import { randomInt } from 'node:crypto';
import { defineAction } from '../../gateway/action.js';
import { ApiError, errors } from '../../gateway/errors.js';
import { p } from '../../gateway/params/spec.js';
import { isoSeconds } from '../../util/clock.js';
import { newResourceId } from '../../util/ids.js';
import { type Db, deleteResource, findResource, insertResource, listResources, putTags, type Resource } from '../common/resources.js';
import { checkTags } from '../common/tag-params.js';
import { CAS, CERTIFICATE } from '../../domain/kinds.js';
import { certificateIdentifier, parseCertificateRef } from '../../domain/certificates.js';
import type { CertificateDoc, ListenerDoc } from '../../domain/nlb-documents.js';
import { RESOURCE_GROUP_ID, defaultResourceGroupId } from '../common/resource-groups.js';
import {
  type CertificateChain,
  PemError,
  certificateFacts,
  keyAlgorithm,
  keyMatches,
  parseCertificateChain,
  parsePrivateKey,
} from './pem.js';

export const CAS_PRODUCT = CAS;
export const CERTIFICATE_KIND = CERTIFICATE;

export type CertificateRow = Resource<CertificateDoc>;

const DAY_MS = 86_400_000;
/** A certificate this close to its end is reported as WILLEXPIRED rather than ISSUED. */
const EXPIRING_SOON_MS = 30 * DAY_MS;

// --- identifiers ----------------------------------------------------------------------------

export interface FoundCertificate {
  id: string;
  /** `<id>-<region>`. */
  identifier: string;
  type: 'Server' | 'CA';
  /** Leaf first, then the chain. */
  certPem: string;
  keyPem?: string;
  commonName: string;
  sans: string[];
  notBefore: string;
  notAfter: string;
}

async function rowForRef(db: Db, ref: string): Promise<CertificateRow | undefined> {
  const parsed = parseCertificateRef(ref);
  if (!parsed) return undefined;
  const row = await findResource<CertificateDoc>(db, CAS_PRODUCT, CERTIFICATE_KIND, parsed.id);
  // A region suffix must be the certificate's own: `123-cn-shanghai` is not `123-cn-hangzhou`.
  if (!row || (parsed.regionId !== undefined && parsed.regionId !== row.regionId)) return undefined;
  return row;
}

/** A certificate by ID or identifier (server or CA), with its PEM; undefined when unknown. */
export async function findCertificate(db: Db, id: string): Promise<FoundCertificate | undefined> {
  const row = await rowForRef(db, id);
  if (!row) return undefined;
  return {
    id: row.id,
    identifier: certificateIdentifier(row),
    type: row.body.Type,
    certPem: row.body.CertPem,
    keyPem: row.body.KeyPem,
    commonName: row.body.CommonName,
    sans: [...row.body.Sans],
    notBefore: row.body.NotBefore,
    notAfter: row.body.NotAfter,
  };
}

/** Listeners (any region) that name the certificate as default, CA or additional certificate. */
export async function listenersUsingCertificate(db: Db, id: string): Promise<string[]> {
  const listeners = await listResources<ListenerDoc>(db, { product: 'nlb', kind: 'listener' });
  const refersToIt = (ref: string) => parseCertificateRef(ref)?.id === id;
  return listeners
    .filter(
      (l) =>
        (l.body.CertificateIds ?? []).some(refersToIt) ||
        (l.body.CaCertificateIds ?? []).some(refersToIt) ||
        (l.body.AdditionalCertificates ?? []).some((a) => refersToIt(a.CertificateId)),
    )
    .map((l) => l.id);
}

// --- shared by server and CA certificates ------------------------------------------------------

/** Turns a PEM problem into the parameter's IllegalParam error. */
export function readPem<T>(param: string, read: () => T): T {
  try {
    return read();
  } catch (err) {
    if (err instanceof PemError) throw errors.illegalParam(param, err.message);
    throw err;
  }
}

export function keyMismatch(): ApiError {
  return new ApiError('Mismatch.PrivateKey', 'The private key does not match the certificate.');
}

export function certificateNotFound(id: string): ApiError {
  return errors.notFound('Certificate', id);
}

/** Refuses to delete what a TCPSSL listener still serves or verifies with. */
export async function requireUnused(db: Db, id: string): Promise<void> {
  const users = await listenersUsingCertificate(db, id);
  if (users.length > 0) {
    throw new ApiError('ResourceInUse.Certificate', `The specified resource of Certificate is in use (by ${users.join(', ')}).`);
  }
}

/** The stored document for a parsed chain; everything the service reports is read here, once. */
export function certificateDoc(
  chain: CertificateChain,
  fields: { Name: string; Type: 'Server' | 'CA'; KeyPem?: string; ResourceGroupId: string; now: number },
): CertificateDoc {
  const leaf = certificateFacts(chain.certs[0]);
  return {
    Name: fields.Name,
    Type: fields.Type,
    CertPem: chain.pem,
    KeyPem: fields.KeyPem,
    InstanceId: newResourceId('cas-upload', 6),
    ResourceGroupId: fields.ResourceGroupId,
    Algorithm: keyAlgorithm(chain.certs[0]) ?? chain.certs[0].publicKey.asymmetricKeyType ?? '',
    CommonName: leaf.commonName,
    Sans: leaf.sans,
    Subject: leaf.subject,
    Issuer: leaf.issuer,
    IssuerCommonName: leaf.issuerCommonName,
    SerialNo: leaf.serialNo,
    NotBefore: isoSeconds(leaf.notBefore),
    NotAfter: isoSeconds(leaf.notAfter),
    Fingerprint: leaf.fingerprint,
    Sha2: leaf.sha2,
    Chain: chain.certs.map((cert) => {
      const f = certificateFacts(cert);
      return {
        CommonName: f.commonName,
        IssuerCommonName: f.issuerCommonName,
        NotBefore: isoSeconds(f.notBefore),
        NotAfter: isoSeconds(f.notAfter),
      };
    }),
    CreateTime: isoSeconds(fields.now),
  };
}

/** Keyword search over what the console searches: name, domain names and the instance ID. */
export function matchesKeyword(doc: CertificateDoc, keyword: string | undefined): boolean {
  if (!keyword) return true;
  const k = keyword.toLowerCase();
  return [doc.Name, doc.CommonName, doc.InstanceId, ...doc.Sans].some((v) => v.toLowerCase().includes(k));
}

/** The service pages with CurrentPage (1-based) and ShowSize. */
export function pageOf<T>(items: T[], currentPage: number, showSize: number): T[] {
  return items.slice((currentPage - 1) * showSize, currentPage * showSize);
}

export const pagingParams = {
  CurrentPage: p.integer({ min: 1, default: 1 }),
  ShowSize: p.integer({ min: 1, max: 1000, default: 50 }),
};

const dateOnly = (iso: string) => iso.slice(0, 10);
const ms = (iso: string) => Date.parse(iso);

// --- server certificates ------------------------------------------------------------------------

async function newCertId(db: Db): Promise<string> {
  for (;;) {
    const id = String(randomInt(10_000_000, 100_000_000));
    if (!(await findResource(db, CAS_PRODUCT, CERTIFICATE_KIND, id))) return id;
  }
}

async function requireServerCertificate(db: Db, certId: number): Promise<CertificateRow> {
  const row = await findResource<CertificateDoc>(db, CAS_PRODUCT, CERTIFICATE_KIND, String(certId));
  if (!row || row.body.Type !== 'Server') throw certificateNotFound(String(certId));
  return row;
}

function listServerCertificates(db: Db): Promise<CertificateRow[]> {
  return listResources<CertificateDoc>(db, { product: CAS_PRODUCT, kind: CERTIFICATE_KIND }).then((rows) =>
    rows.filter((r) => r.body.Type === 'Server'),
  );
}

type ValidityStatus = 'ISSUED' | 'WILLEXPIRED' | 'EXPIRED';

function validityStatus(doc: CertificateDoc, now: number): ValidityStatus {
  const end = ms(doc.NotAfter);
  if (end <= now) return 'EXPIRED';
  return end - now <= EXPIRING_SOON_MS ? 'WILLEXPIRED' : 'ISSUED';
}

const tagsParam = p.list(
  p.object({
    Key: p.string({ required: true, maxLength: 128, errorName: 'Tags.Key' }),
    Value: p.string({ maxLength: 256, errorName: 'Tags.Value' }),
  }),
  { maxItems: 20, errorName: 'Tags' },
);

const uploadUserCertificate = defineAction({
  name: 'UploadUserCertificate',
  mode: 'write',
  params: {
    Name: p.string({ required: true, maxLength: 64 }),
    Cert: p.string(),
    Key: p.string(),
    // ShangMi (SM2) dual certificates: read so that a clear refusal can name them.
    SignCert: p.string(),
    EncryptCert: p.string(),
    ResourceGroupId: p.string({ pattern: RESOURCE_GROUP_ID }),
    Tags: tagsParam,
  },
  handler: async (input, ctx) => {
    if (input.Cert === undefined && (input.SignCert !== undefined || input.EncryptCert !== undefined)) {
      throw errors.illegalParam(
        input.SignCert !== undefined ? 'SignCert' : 'EncryptCert',
        'SM (ShangMi) certificates are not supported by OpenSLB.',
      );
    }
    if (input.Cert === undefined) throw errors.missingParam('Cert');
    if (input.Key === undefined) throw errors.missingParam('Key');
    const chain = readPem('Cert', () => parseCertificateChain(input.Cert!));
    if (!keyAlgorithm(chain.certs[0])) {
      throw errors.illegalParam('Cert', 'Only RSA and ECC (ECDSA) certificates can serve TLS here.');
    }
    const key = readPem('Key', () => parsePrivateKey(input.Key!));
    if (!keyMatches(chain.certs[0], key.key)) throw keyMismatch();
    const tags = checkTags(input.Tags);

    const existing = await listServerCertificates(ctx.db);
    if (existing.some((r) => r.body.Name === input.Name)) {
      throw new ApiError('NameRepeat', 'The certificate name already exists.');
    }
    const now = ctx.clock.now();
    const id = await newCertId(ctx.db);
    const body = certificateDoc(chain, {
      Name: input.Name,
      Type: 'Server',
      KeyPem: key.pem,
      ResourceGroupId: input.ResourceGroupId ?? defaultResourceGroupId(ctx.accountId),
      now,
    });
    const stamp = { now, revision: ctx.revision };
    await insertResource(
      ctx.db,
      { id, product: CAS_PRODUCT, kind: CERTIFICATE_KIND, regionId: ctx.region.id, status: 'Issued', body },
      stamp,
    );
    await putTags(ctx.db, { id, product: CAS_PRODUCT, resourceType: CERTIFICATE_KIND, regionId: ctx.region.id }, tags);
    return { CertId: Number(id), ResourceId: body.InstanceId };
  },
});

const getUserCertificateDetail = defineAction({
  name: 'GetUserCertificateDetail',
  mode: 'read',
  params: {
    CertId: p.integer({ required: true, min: 1 }),
    /** true leaves out Cert and Key, as the service does. */
    CertFilter: p.boolean({ default: false }),
  },
  handler: async (input, ctx) => {
    const row = await requireServerCertificate(ctx.db, input.CertId);
    const d = row.body;
    const now = ctx.clock.now();
    return {
      Id: Number(row.id),
      Name: d.Name,
      CertIdentifier: certificateIdentifier(row),
      InstanceId: d.InstanceId,
      ResourceGroupId: d.ResourceGroupId,
      // The service returns the private key with the certificate unless CertFilter=true.
      ...(input.CertFilter ? {} : { Cert: d.CertPem, Key: d.KeyPem }),
      Algorithm: d.Algorithm,
      BuyInAliyun: false,
      Common: d.CommonName,
      Sans: d.Sans.join(','),
      Issuer: d.Issuer,
      OrgName: d.Subject.OrgName,
      Country: d.Subject.Country,
      Province: d.Subject.Province,
      City: d.Subject.City,
      SerialNo: d.SerialNo,
      Fingerprint: d.Fingerprint,
      Sha2: d.Sha2,
      StartDate: dateOnly(d.NotBefore),
      EndDate: dateOnly(d.NotAfter),
      NotBefore: ms(d.NotBefore),
      NotAfter: ms(d.NotAfter),
      Expired: ms(d.NotAfter) <= now,
      CertChain: d.Chain.map((c) => ({
        CommonName: c.CommonName,
        IssuerCommonName: c.IssuerCommonName,
        NotBefore: ms(c.NotBefore),
        NotAfter: ms(c.NotAfter),
        RemainDay: Math.max(0, Math.floor((ms(c.NotAfter) - now) / DAY_MS)),
      })),
    };
  },
});

const ORDER_TYPES = ['CPACK', 'BUY', 'UPLOAD', 'CERT'] as const;
const ORDER_STATUSES = ['PAYED', 'CHECKING', 'CHECKED_FAIL', 'ISSUED', 'WILLEXPIRED', 'EXPIRED', 'NOTACTIVATED', 'REVOKED'] as const;

const listUserCertificateOrder = defineAction({
  name: 'ListUserCertificateOrder',
  mode: 'read',
  params: {
    OrderType: p.string({ enum: ORDER_TYPES, default: 'CPACK' }),
    Status: p.string({ enum: ORDER_STATUSES }),
    Keyword: p.string({ maxLength: 256 }),
    ResourceGroupId: p.string({ maxLength: 64 }),
    ...pagingParams,
  },
  handler: async (input, ctx) => {
    const now = ctx.clock.now();
    // OpenSLB sells nothing: purchase and quota orders (CPACK, BUY — the default) are always empty.
    const certificates = input.OrderType === 'UPLOAD' || input.OrderType === 'CERT';
    const wanted: readonly string[] = input.Status ? [input.Status] : ['ISSUED', 'WILLEXPIRED'];
    const rows = certificates ? await listServerCertificates(ctx.db) : [];
    const matching = rows.filter(
      (r) =>
        wanted.includes(validityStatus(r.body, now)) &&
        matchesKeyword(r.body, input.Keyword) &&
        (!input.ResourceGroupId || r.body.ResourceGroupId === input.ResourceGroupId),
    );
    return {
      CertificateOrderList: pageOf(matching, input.CurrentPage, input.ShowSize).map((r) => {
        const d = r.body;
        return {
          CertificateId: Number(r.id),
          InstanceId: d.InstanceId,
          Name: d.Name,
          CommonName: d.CommonName,
          Sans: d.Sans.join(','),
          Issuer: d.Issuer,
          OrgName: d.Subject.OrgName,
          Country: d.Subject.Country,
          Province: d.Subject.Province,
          City: d.Subject.City,
          SerialNo: d.SerialNo,
          Fingerprint: d.Fingerprint,
          Sha2: d.Sha2,
          StartDate: dateOnly(d.NotBefore),
          EndDate: dateOnly(d.NotAfter),
          Expired: ms(d.NotAfter) <= now,
          Upload: true,
          ResourceGroupId: d.ResourceGroupId,
        };
      }),
      CurrentPage: input.CurrentPage,
      ShowSize: input.ShowSize,
      TotalCount: matching.length,
    };
  },
});

const deleteUserCertificate = defineAction({
  name: 'DeleteUserCertificate',
  mode: 'write',
  params: { CertId: p.integer({ required: true, min: 1 }) },
  handler: async (input, ctx) => {
    const row = await requireServerCertificate(ctx.db, input.CertId);
    await requireUnused(ctx.db, row.id);
    await deleteResource(ctx.db, row.id);
    return {};
  },
});

export const certificateActions = [uploadUserCertificate, getUserCertificateDetail, listUserCertificateOrder, deleteUserCertificate];
