/**
 * The records in storage.local: one entry per enrollment and per certificate (./state.ts KEYS).
 * Reads only, and the one write of each; who may write when is the lock's business (./lock.ts).
 */
import { EnrollRequestError } from './errors';
import type { StoragePort } from './ports';
import { CERTIFICATE_PREFIX, ENROLLMENT_PREFIX, KEYS, type CertificateRecord, type Enrollment } from './state';

export async function loadEnrollment(storage: StoragePort, id: string): Promise<Enrollment> {
  const key = KEYS.enrollment(id);
  const value = (await storage.get([key]))[key];
  if (value === undefined) throw new EnrollRequestError('unknownEnrollment', `No enrollment ${id}.`);
  return value as Enrollment;
}

export async function saveEnrollment(storage: StoragePort, e: Enrollment): Promise<void> {
  await storage.set({ [KEYS.enrollment(e.id)]: e });
}

/** Every enrollment, oldest first. */
export async function listEnrollments(storage: StoragePort): Promise<Enrollment[]> {
  const all = await storage.getAll();
  return Object.entries(all)
    .filter(([key]) => key.startsWith(ENROLLMENT_PREFIX))
    .map(([, value]) => value as Enrollment)
    .sort((a, b) => a.createdAt - b.createdAt);
}

export async function listCertificates(storage: StoragePort): Promise<CertificateRecord[]> {
  const all = await storage.getAll();
  return Object.entries(all)
    .filter(([key]) => key.startsWith(CERTIFICATE_PREFIX))
    .map(([, value]) => value as CertificateRecord);
}

export async function loadCertificate(storage: StoragePort, identityId: string): Promise<CertificateRecord | undefined> {
  const key = KEYS.certificate(identityId);
  return (await storage.get([key]))[key] as CertificateRecord | undefined;
}

/** Call only under the identity's certificate lock (LOCK.certificate). */
export async function saveCertificate(storage: StoragePort, record: CertificateRecord): Promise<void> {
  await storage.set({ [KEYS.certificate(record.identityId)]: record });
}
