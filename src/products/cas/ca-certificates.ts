/**
 * CA certificates for mutual TLS, the way the certificate service stores uploaded private CA
 * certificates: in a certificate repository ("warehouse"). UploadPCACert, ListCert,
 * DescribeWarehouseCert, DeletePCACert, and ListCertWarehouse to learn the repository's ID.
 *
 * OpenSLB has exactly one repository, of type `uploadPCA`, with WhId 1. A CA certificate's ID
 * is its Identifier (a UUID, as the service's own examples show); NLB's CaCertificateIds.N
 * takes it with or without the `-<region>` suffix.
 */
import { randomUUID, X509Certificate } from 'node:crypto';
import { defineAction } from '../../gateway/action.js';
import { errors } from '../../gateway/errors.js';
import { p } from '../../gateway/params/spec.js';
import { deleteResource, findResource, insertResource, listResources, type Db } from '../common/resources.js';
import type { CertificateDoc } from '../../domain/nlb-documents.js';
import { defaultResourceGroupId } from '../common/resource-groups.js';
import {
  CAS_PRODUCT,
  CERTIFICATE_KIND,
  type CertificateRow,
  certificateDoc,
  certificateNotFound,
  keyMismatch,
  matchesKeyword,
  pageOf,
  pagingParams,
  readPem,
  requireUnused,
} from './certificates.js';
import { keyMatches, parseCertificateChain, parsePrivateKey } from './pem.js';

/** The one certificate repository. EndTime: repositories are bought for a term; this one does not lapse. */
export const LOCAL_WAREHOUSE = {
  WhId: 1,
  InstanceId: 'cas-wh-openslb',
  Name: 'openslb-uploaded-ca',
  Type: 'uploadPCA',
  PcaInstanceId: '',
  Qps: 10,
  IsExpired: false,
  EndTime: Date.parse('2100-01-01T00:00:00Z'),
} as const;

function listCaCertificates(db: Db): Promise<CertificateRow[]> {
  return listResources<CertificateDoc>(db, { product: CAS_PRODUCT, kind: CERTIFICATE_KIND }).then((rows) =>
    rows.filter((r) => r.body.Type === 'CA'),
  );
}

async function requireCaCertificate(db: Db, identifier: string): Promise<CertificateRow> {
  const row = await findResource<CertificateDoc>(db, CAS_PRODUCT, CERTIFICATE_KIND, identifier);
  if (!row || row.body.Type !== 'CA') throw certificateNotFound(identifier);
  return row;
}

/** The repository certificate that signed this one (itself for a self-signed root), or ''. */
function issuerIdentifier(row: CertificateRow, all: CertificateRow[]): string {
  const leaf = new X509Certificate(row.body.CertPem);
  const issuer = all.find((candidate) => {
    const ca = new X509Certificate(candidate.body.CertPem);
    return leaf.checkIssued(ca) && leaf.verify(ca.publicKey);
  });
  return issuer?.id ?? '';
}

const uploadPcaCert = defineAction({
  name: 'UploadPCACert',
  mode: 'write',
  params: {
    Cert: p.string({ required: true }),
    WarehouseId: p.integer({ required: true, min: 1 }),
    Name: p.string({ maxLength: 64 }),
    PrivateKey: p.string(),
  },
  handler: async (input, ctx) => {
    if (input.WarehouseId !== LOCAL_WAREHOUSE.WhId) throw errors.notFound('Warehouse', String(input.WarehouseId));
    const chain = readPem('Cert', () => parseCertificateChain(input.Cert));
    if (!chain.certs[0].ca) {
      throw errors.illegalParam('Cert', 'The first certificate is not a CA certificate (basicConstraints CA:TRUE).');
    }
    let keyPem: string | undefined;
    if (input.PrivateKey !== undefined) {
      const key = readPem('PrivateKey', () => parsePrivateKey(input.PrivateKey!));
      if (!keyMatches(chain.certs[0], key.key)) throw keyMismatch();
      keyPem = key.pem;
    }
    const now = ctx.clock.now();
    const id = randomUUID();
    const body = certificateDoc(chain, {
      Name: input.Name ?? '',
      Type: 'CA',
      KeyPem: keyPem,
      ResourceGroupId: defaultResourceGroupId(ctx.accountId),
      now,
    });
    if (!body.Name) body.Name = body.CommonName;
    await insertResource(
      ctx.db,
      { id, product: CAS_PRODUCT, kind: CERTIFICATE_KIND, regionId: ctx.region.id, status: 'Issued', body },
      { now, revision: ctx.revision },
    );
    return { Identifier: id };
  },
});

const listCert = defineAction({
  name: 'ListCert',
  mode: 'read',
  params: {
    WarehouseId: p.integer({ min: 1 }),
    CertType: p.string({ enum: ['CA', 'CERT'] }),
    SourceType: p.string({ enum: ['upload', 'aliyun'] }),
    Status: p.string({ enum: ['ISSUE', 'REVOKE'] }),
    KeyWord: p.string({ maxLength: 256 }),
    ...pagingParams,
  },
  handler: async (input, ctx) => {
    // Everything in the repository is an uploaded, issued CA certificate.
    const excluded =
      (input.WarehouseId !== undefined && input.WarehouseId !== LOCAL_WAREHOUSE.WhId) ||
      input.CertType === 'CERT' ||
      input.SourceType === 'aliyun' ||
      input.Status === 'REVOKE';
    const rows = excluded ? [] : (await listCaCertificates(ctx.db)).filter((r) => matchesKeyword(r.body, input.KeyWord));
    return {
      CertList: pageOf(rows, input.CurrentPage, input.ShowSize).map((r) => ({
        Identifier: r.id,
        CommonName: r.body.CommonName,
        Sans: r.body.Sans.join(','),
        Issuer: r.body.Issuer,
        BeforeDate: Date.parse(r.body.NotBefore),
        AfterDate: Date.parse(r.body.NotAfter),
        CertType: 'CA',
        ExistPrivateKey: r.body.KeyPem !== undefined,
        SourceType: 'upload',
        Status: 'ISSUE',
        WhId: LOCAL_WAREHOUSE.WhId,
        WhInstanceId: LOCAL_WAREHOUSE.InstanceId,
      })),
      CurrentPage: input.CurrentPage,
      ShowSize: input.ShowSize,
      TotalCount: rows.length,
    };
  },
});

const describeWarehouseCert = defineAction({
  name: 'DescribeWarehouseCert',
  mode: 'read',
  params: { CertIdentifier: p.string({ required: true, maxLength: 128 }) },
  handler: async (input, ctx) => {
    const row = await requireCaCertificate(ctx.db, input.CertIdentifier);
    return {
      CertIdentifier: row.id,
      CertStatus: 'issued',
      CertType: 'CA',
      CommonName: row.body.CommonName,
      // The chain only: like the service, this never returns a private key.
      Content: row.body.CertPem,
      Fingerprint: row.body.Fingerprint,
      Issuer: row.body.Issuer,
      IssuerIdentifier: issuerIdentifier(row, await listCaCertificates(ctx.db)),
      PrivateCaInstanceId: '',
      PrivateCaRegionId: '',
      WarehouseInstanceId: LOCAL_WAREHOUSE.InstanceId,
    };
  },
});

const deletePcaCert = defineAction({
  name: 'DeletePCACert',
  mode: 'write',
  params: { Identifier: p.string({ required: true, maxLength: 128 }) },
  handler: async (input, ctx) => {
    const row = await requireCaCertificate(ctx.db, input.Identifier);
    await requireUnused(ctx.db, row.id);
    await deleteResource(ctx.db, row.id);
    return {};
  },
});

const listCertWarehouse = defineAction({
  name: 'ListCertWarehouse',
  mode: 'read',
  params: {
    Type: p.string({ enum: ['ssl', 'uploadPCA', 'free', 'aliyunPCA', 'disable'] }),
    Name: p.string({ maxLength: 128 }),
    InstanceId: p.string({ maxLength: 128 }),
    ...pagingParams,
  },
  handler: async (input) => {
    const w = LOCAL_WAREHOUSE;
    const matches =
      (!input.Type || input.Type === w.Type) &&
      (!input.Name || w.Name.includes(input.Name)) &&
      (!input.InstanceId || input.InstanceId === w.InstanceId);
    const list = matches ? [{ ...w }] : [];
    return {
      CertWarehouseList: pageOf(list, input.CurrentPage, input.ShowSize),
      CurrentPage: input.CurrentPage,
      ShowSize: input.ShowSize,
      TotalCount: list.length,
    };
  },
});

export const caCertificateActions = [uploadPcaCert, listCert, describeWarehouseCert, deletePcaCert, listCertWarehouse];
