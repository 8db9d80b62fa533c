/**
 * Engine-neutral cases of the access log's search: the events, and queries
 * (as clients write them) with the ids each must find. Run on SQLite
 * (sqlite-audit-log.test.ts) and on MongoDB's compiler over mingo
 * (mongo-audit-log.test.ts).
 */
import type { AnyResource } from '../../src/fhir/types';
import { parseSearch } from '../../src/search/parse';
import type { SearchQuery } from '../../src/search/query';

const BASE_URL = 'http://localhost/fhir';

const code = (system: string, value: string) => ({ system, code: value });

interface EventFacts {
  patient?: string;
  agent?: string;
  recorded?: string;
  action?: string;
  outcome?: string;
  subtype?: string;
  purpose?: string;
  entity?: string;
}

export const event = (id: string, facts: EventFacts = {}): AnyResource =>
  ({
    resourceType: 'AuditEvent',
    id,
    type: code('http://terminology.hl7.org/CodeSystem/audit-event-type', 'rest'),
    subtype: [code('http://hl7.org/fhir/restful-interaction', facts.subtype ?? 'read')],
    action: facts.action ?? 'R',
    outcome: facts.outcome ?? '0',
    recorded: facts.recorded ?? '2024-05-01T10:00:00.000Z',
    purposeOfEvent: [{ coding: [code('http://terminology.hl7.org/CodeSystem/v3-ActReason', facts.purpose ?? 'TREAT')] }],
    agent: [{ who: { reference: facts.agent ?? 'Practitioner/d1' }, requestor: true }],
    source: { observer: { display: 'test' } },
    entity: [
      ...(facts.patient ? [{ what: { reference: `Patient/${facts.patient}` } }] : []),
      ...(facts.entity ? [{ what: { reference: facts.entity } }] : []),
    ],
  }) as AnyResource;


/** A query as the REST layer parses it (strict), so the engines are searched the way clients do. */
export const auditLogQuery = (text: string): SearchQuery =>
  parseSearch(['AuditEvent'], [...new URLSearchParams(text).entries()], { strict: true, baseUrl: BASE_URL }).query;

export const auditLogCaseEvents = (): AnyResource[] => [
  event('e1', { patient: 'p1', recorded: '2024-05-01T10:00:00.000Z', agent: 'Practitioner/d1' }),
  event('e2', { patient: 'p2', recorded: '2024-05-02T10:00:00.000Z', agent: 'Patient/p2', action: 'C', subtype: 'create', entity: 'Observation/o1' }),
  event('e3', { patient: 'p1', recorded: '2024-05-03T10:00:00.000Z', outcome: '4', purpose: 'HPAYMT' }),
  event('e4', { recorded: '2024-05-04T10:00:00.000Z', agent: 'Practitioner/d2', entity: 'Organization/o' }),
];

export const auditLogCases: Array<[string, string[]]> = [
  ['patient=Patient/p1', ['e1', 'e3']],
  ['patient=p2', ['e2']],
  ['patient:Patient=p1', ['e1', 'e3']],
  ['entity=Observation/o1', ['e2']],
  ['entity=Patient/p1,Organization/o', ['e1', 'e3', 'e4']],
  ['agent=Practitioner/d2', ['e4']],
  ['agent=Patient/p2', ['e2']],
  ['action=C', ['e2']],
  ['outcome=4', ['e3']],
  ['outcome=0&patient=Patient/p1', ['e1']],
  ['subtype=http://hl7.org/fhir/restful-interaction|create', ['e2']],
  ['subtype=|create', []],
  ['type=rest', ['e1', 'e2', 'e3', 'e4']],
  ['type=http://terminology.hl7.org/CodeSystem/audit-event-type|', ['e1', 'e2', 'e3', 'e4']],
  ['purpose=HPAYMT', ['e3']],
  ['_id=e2,e4', ['e2', 'e4']],
  ['date=2024-05-02', ['e2']],
  ['date=eq2024-05', ['e1', 'e2', 'e3', 'e4']],
  ['date=ne2024-05-02', ['e1', 'e3', 'e4']],
  ['date=gt2024-05-02', ['e3', 'e4']],
  ['date=ge2024-05-02', ['e2', 'e3', 'e4']],
  ['date=lt2024-05-02', ['e1']],
  ['date=le2024-05-02', ['e1', 'e2']],
  ['date=sa2024-05-02', ['e3', 'e4']],
  ['date=eb2024-05-03', ['e1', 'e2']],
  ['date=ge2024-05-02&date=lt2024-05-04', ['e2', 'e3']],
  // `ap` widens by 10% of the distance to now (search.html#prefix): years ago, that is months wide.
  ['date=ap2024-05-02', ['e1', 'e2', 'e3', 'e4']],
  ['date=ap2023-01-01', []],
  ['_sort=-date', ['e4', 'e3', 'e2', 'e1']],
  ['_sort=date&patient=Patient/p1', ['e1', 'e3']],
];
