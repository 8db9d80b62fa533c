import { join } from 'node:path';
import { markdownTable, runLoad } from './http-load';
import { startServerProcess } from './server-process';

const ORG_TYPE = 'http://terminology.hl7.org/CodeSystem/organization-type';
/** How many Conditions and Procedures a claim carries: with the Patient, Coverage, Practitioner, two Organizations and the Encounter, 30 resources beside the Claim. */
const PER_KIND = 12;

/**
 * A Synthea-sized claim Bundle: the Claim first, then 30 resources. The
 * Patient, Practitioner, Organizations and Coverage exist by identifier once
 * sent; with `pool`, the Encounter, Conditions and Procedures carry
 * identifiers too, repeating every `pool` claims, so they are reused as well.
 */
export function claimBundle(n: number, pool?: number): Record<string, unknown> {
  const ids = (kind: string, i: number) => (pool ? { identifier: [{ system: `urn:bench:${kind}`, value: `${n % pool}-${i}` }] } : {});
  const uuid = (kind: number, i: number) => `urn:uuid:00000000-0000-4000-8${String(kind).padStart(3, '0')}-${String(n * 100 + i).padStart(12, '0')}`;
  const patient = uuid(1, 0);
  const encounter = uuid(2, 0);
  const conditions = Array.from({ length: PER_KIND }, (_, i) => ({
    fullUrl: uuid(3, i),
    resource: {
      resourceType: 'Condition',
      ...ids('condition', i),
      subject: { reference: patient },
      encounter: { reference: encounter },
      code: { text: `Condition ${i}` },
    },
  }));
  const procedures = Array.from({ length: PER_KIND }, (_, i) => ({
    fullUrl: uuid(4, i),
    resource: {
      resourceType: 'Procedure',
      ...ids('procedure', i),
      status: 'completed',
      subject: { reference: patient },
      encounter: { reference: encounter },
      code: { text: `Procedure ${i}` },
    },
  }));
  const org = (id: string, code: string) => ({
    fullUrl: `urn:uuid:00000000-0000-4000-8999-0000000000${id === 'payer' ? '01' : '02'}`,
    resource: {
      resourceType: 'Organization',
      name: id,
      identifier: [{ system: 'urn:bench:org', value: id }],
      type: [{ coding: [{ system: ORG_TYPE, code }] }],
    },
  });
  const [payer, provider] = [org('payer', 'pay'), org('provider', 'prov')];
  const claim = {
    resourceType: 'Claim',
    identifier: [{ system: 'urn:bench:claim', value: `c-${n}-${process.pid}` }],
    status: 'active',
    type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/claim-type', code: 'professional' }] },
    use: 'claim',
    patient: { reference: patient },
    created: '2025-03-01',
    insurer: { reference: payer.fullUrl },
    provider: { reference: provider.fullUrl },
    priority: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/processpriority', code: 'normal' }] },
    diagnosis: conditions.map((c, i) => ({ sequence: i + 1, diagnosisReference: { reference: c.fullUrl } })),
    procedure: procedures.map((p, i) => ({ sequence: i + 1, procedureReference: { reference: p.fullUrl } })),
    insurance: [{ sequence: 1, focal: true, coverage: { reference: uuid(5, 0) } }],
    item: procedures.map((_, i) => ({
      sequence: i + 1,
      diagnosisSequence: [i + 1],
      encounter: [{ reference: encounter }],
      productOrService: { text: `Service ${i}` },
      net: { value: 100 + i, currency: 'USD' },
    })),
  };
  return {
    resourceType: 'Bundle',
    type: 'collection',
    entry: [
      { resource: claim },
      {
        fullUrl: patient,
        resource: {
          resourceType: 'Patient',
          identifier: [{ system: 'urn:bench:mrn', value: String(n % 500) }],
          name: [{ family: 'Bench' }],
          birthDate: '1970-01-01',
        },
      },
      { fullUrl: uuid(6, 0), resource: { resourceType: 'Practitioner', identifier: [{ system: 'http://hl7.org/fhir/sid/us-npi', value: '9999' }] } },
      payer,
      provider,
      {
        fullUrl: uuid(5, 0),
        resource: {
          resourceType: 'Coverage',
          status: 'active',
          identifier: [{ system: 'urn:bench:member', value: `M-${n % 500}` }],
          beneficiary: { reference: patient },
          payor: [{ reference: payer.fullUrl }],
        },
      },
      {
        fullUrl: encounter,
        resource: {
          resourceType: 'Encounter',
          ...ids('encounter', 0),
          status: 'finished',
          class: { code: 'AMB' },
          subject: { reference: patient },
          serviceProvider: { reference: provider.fullUrl },
        },
      },
      ...conditions,
      ...procedures,
    ],
  };
}

const POOL = 50;

/**
 * `Claim/$submit` of a claim Bundle of about 30 resources, AUTH_MODE=off (the
 * submitter is the operator): each a new Claim whose resources are new
 * (26 writes each), a new Claim whose resources all exist (reused by
 * identifier: the Claim and its response are written), and an unchanged
 * resubmission (reads only).
 */
export async function benchClaims(dir: string, options: { seconds: number; connections: number }): Promise<string> {
  const server = await startServerProcess({ SQLITE_PATH: join(dir, 'claims.db'), AUTH_MODE: 'off', LOG_LEVEL: 'error' });
  const submit = async (bundle: unknown) => {
    const response = await fetch(`${server.url}/Claim/$submit`, {
      method: 'POST',
      headers: { 'content-type': 'application/fhir+json' },
      body: JSON.stringify(bundle),
    });
    if (response.status !== 200) throw new Error(`$submit answered ${response.status}: ${await response.text()}`);
    await response.arrayBuffer();
  };
  let n = 0;
  const results = [];
  try {
    // The resources the other rows reuse: created by a first round of claims.
    for (let i = 0; i < POOL; i++) await submit(claimBundle(n++, POOL));
    const post = { ...options, method: 'POST' as const, path: () => '/Claim/$submit' };
    results.push(await runLoad(server.url, { ...post, name: '$submit, new Claim, 26 new resources', body: () => JSON.stringify(claimBundle(n++)) }));
    results.push(
      await runLoad(server.url, { ...post, name: '$submit, new Claim, its 30 resources reused', body: () => JSON.stringify(claimBundle(n++, POOL)) }),
    );
    const unchanged = JSON.stringify(claimBundle(1, POOL));
    results.push(await runLoad(server.url, { ...post, name: '$submit, unchanged resubmission', body: () => unchanged }));
  } finally {
    await server.stop();
  }
  for (const r of results) if (r.errors || r.non2xx) process.stderr.write(`warning: ${r.name}: ${r.errors} errors, ${r.non2xx} non-2xx\n`);
  return [
    `### Claims (SQLite, a claim Bundle of 30 resources, ${options.connections} connections, ${options.seconds} s per row)`,
    '',
    markdownTable(
      ['operation', 'req/s', 'p50 ms', 'p99 ms'],
      results.map((r) => [r.name, r.requestsPerSecond, r.p50, r.p99]),
    ),
  ].join('\n');
}
