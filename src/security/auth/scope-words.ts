/** Requested scopes in plain words for the approval screen (SMART App Launch 2.2, scopes-and-launch-context). */

const TYPE_WORDS: Record<string, string> = {
  '*': 'whole record',
  Patient: 'personal details',
  Encounter: 'visits (encounters)',
  Observation: 'results and measurements',
  Condition: 'conditions and diagnoses',
  MedicationRequest: 'prescriptions',
  AllergyIntolerance: 'allergies',
  Immunization: 'vaccinations',
  Procedure: 'procedures',
  DiagnosticReport: 'reports',
  DocumentReference: 'documents',
  Consent: 'sharing choices (consents)',
  AuditEvent: 'access log',
  Claim: 'claims',
  Coverage: 'insurance coverage',
  RelatedPerson: 'family members and contacts',
  Practitioner: 'practitioners',
  Organization: 'organisations',
};

const FIXED: Record<string, string> = {
  openid: 'Confirm to the app who you are',
  fhirUser: 'Tell the app which person you are in the record',
  profile: 'Tell the app which person you are in the record',
  'launch/patient': 'Tell the app which patient record you chose',
  offline_access: 'Keep access after you close the app (until 30 days after its last use)',
  online_access: 'Keep access while you stay signed in (at most 12 hours)',
};

function actions(permissions: string): string {
  const read = /[rs]/.test(permissions) || permissions === 'read';
  const write = /[cud]/.test(permissions) || permissions === 'write';
  if (read && write) return 'Read and change';
  return write ? 'Change' : 'Read';
}

export function scopeWords(scope: string): string {
  const fixed = FIXED[scope];
  if (fixed) return fixed;
  const match = /^(patient|user|system)\/([A-Za-z*]+)\.([a-z*]+)(\?.*)?$/.exec(scope);
  if (!match?.[1] || !match[2] || !match[3]) return scope;
  const [, context, type, permissions, query] = match;
  const what = TYPE_WORDS[type] ?? type;
  const whose = context === 'patient' ? 'your' : 'the';
  const filtered = query ? ' (some of them)' : '';
  const tail = context === 'user' ? ' that you are allowed to see' : '';
  return `${actions(permissions === '*' ? 'cruds' : permissions)} ${whose} ${what}${filtered}${tail}`;
}
