import type { Bundle, Coding, Duration, OperationOutcomeIssue, Questionnaire, QuestionnaireItem, QuestionnaireResponse, QuestionnaireResponseItem, Reference, Resource } from 'fhir/r4';
import { type Answer, answerFor, initialAnswers } from './answers';
import { evaluate } from './expressions';
import { Deadline, type FormLimits, LimitExceeded } from './limits';
import { EXT, type Expression, expressionsOf, extensionsOf, LANGUAGE } from './sdc';

/**
 * SDC `$populate` (http://hl7.org/fhir/uv/sdc/STU3/populate.html), the
 * mechanisms in the order SDC gives them: launch contexts, root variables
 * (FHIRPath and x-fhir-query), `itemPopulationContext`, `initialExpression`,
 * observation-based population, and `initial[x]` as the default.
 *
 * Every read goes through `FormData`, which the operation builds on the
 * caller's own access: what the caller may not see is simply absent, so the
 * form shows nothing that the caller could not read directly (SDC: "Users
 * SHALL NOT be able to see information populated into a form that they would
 * not be able to see when navigating the source system directly").
 */

/** How population reads the record: as the caller, through the same access filter as the REST API. */
export interface FormData {
  /** The resource, or undefined when it does not exist or the caller may not see it. */
  read(type: string, id: string): Promise<Resource | undefined>;
  /** A search (`Type?params`) as the caller: at most `limit` resources, in a searchset Bundle. Throws on a bad query. */
  search(query: string, limit: number): Promise<Bundle>;
}

export interface PopulateRequest {
  questionnaire: Questionnaire;
  /** The canonical the response names (`url|version`, or a reference to the stored Questionnaire). */
  questionnaireCanonical: string;
  subject: Reference;
  /** Launch contexts by name (`patient`, `encounter`, `user`...), already read as the caller; undefined when hidden. */
  launchContext: Readonly<Record<string, Resource | undefined>>;
  now: Date;
  limits: FormLimits;
}

export interface PopulateResult {
  response: QuestionnaireResponse;
  /** One issue per item (or variable) that could not be populated. */
  issues: OperationOutcomeIssue[];
  /** Every resource the response drew from, for the audit record. */
  disclosed: Resource[];
}

type Variables = Record<string, unknown>;

/** The state of one population: its budget, the record it reads and what it reports. */
interface Population {
  request: PopulateRequest;
  data: FormData;
  deadline: Deadline;
  issues: OperationOutcomeIssue[];
  disclosed: Map<string, Resource>;
}

const FINAL_STATUSES = new Set(['final', 'amended', 'corrected']);

export async function populate(request: PopulateRequest, data: FormData): Promise<PopulateResult> {
  const run: Population = { request, data, deadline: new Deadline(request.limits.deadlineMs), issues: [], disclosed: new Map() };
  const variables = launchVariables(run);
  const response: QuestionnaireResponse = {
    resourceType: 'QuestionnaireResponse',
    status: 'in-progress',
    questionnaire: request.questionnaireCanonical,
    subject: request.subject,
    authored: request.now.toISOString(),
    item: [],
  };
  variables.resource = response;
  try {
    await defineVariables(run, request.questionnaire, variables, undefined);
    response.item = await populateItems(run, request.questionnaire.item ?? [], variables);
  } catch (error) {
    // Only a spent deadline ends the population early; what was filled so far is kept.
    if (!(error instanceof LimitExceeded)) throw error;
    report(run, undefined, error.message);
  }
  if (response.item?.length === 0) delete response.item;
  return { response, issues: run.issues, disclosed: [...run.disclosed.values()] };
}

/** `%patient`, `%encounter`, `%user` and every declared launch context; an unavailable one is empty, not an error. */
function launchVariables(run: Population): Variables {
  const variables: Variables = {};
  const declared = extensionsOf(run.request.questionnaire, EXT.launchContext).map((extension) => {
    const name = extension.extension?.find((part) => part.url === 'name');
    return (name?.valueCoding as Coding | undefined)?.code ?? (name?.valueId as string | undefined) ?? (name?.valueString as string | undefined);
  });
  for (const name of new Set(['patient', 'encounter', 'user', ...declared.filter((n): n is string => n !== undefined)])) {
    const resource = run.request.launchContext[name];
    if (resource) disclose(run, resource);
    variables[name] = resource ?? [];
  }
  return variables;
}

function disclose(run: Population, resource: Resource): void {
  run.disclosed.set(`${resource.resourceType}/${resource.id ?? ''}`, resource);
}

function report(run: Population, linkId: string | undefined, message: string): void {
  run.issues.push({
    severity: 'warning',
    code: 'processing',
    diagnostics: linkId === undefined ? message : `item ${linkId}: ${message}`,
    ...(linkId === undefined ? {} : { expression: [`Questionnaire.repeat(item).where(linkId='${linkId}')`] }),
  });
}

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** The `variable` extensions of an element (root or item), in order: each sees the ones before it. */
async function defineVariables(run: Population, element: Questionnaire | QuestionnaireItem, variables: Variables, linkId: string | undefined): Promise<void> {
  for (const variable of expressionsOf(element, EXT.variable)) {
    if (!variable.name) continue;
    try {
      variables[variable.name] = await evaluateExpression(run, variable, variables);
    } catch (error) {
      if (isTimeLimit(error)) throw error;
      variables[variable.name] = [];
      report(run, linkId, `variable ${variable.name}: ${messageOf(error)}`);
    }
  }
}

/** A FHIRPath expression, or an x-fhir-query whose `{{...}}` parts are FHIRPath (SDC "x-fhir-query enhancements"). */
async function evaluateExpression(run: Population, expression: Expression, variables: Variables): Promise<unknown[]> {
  const text = expression.expression ?? '';
  if (expression.language === LANGUAGE.fhirQuery) return [await runQuery(run, text, variables)];
  if (expression.language !== undefined && expression.language !== LANGUAGE.fhirpath) throw new Error(`the expression language ${expression.language} is not supported`);
  return evaluate(text, variables.resource, variables, run.request.limits.maxStepsPerExpression, run.deadline);
}

async function runQuery(run: Population, template: string, variables: Variables): Promise<Bundle> {
  let unresolved = false;
  const query = template.replace(/\{\{(.+?)\}\}/g, (_whole, inner: string) => {
    const values = evaluate(inner, variables.resource, variables, run.request.limits.maxStepsPerExpression, run.deadline);
    if (values.length === 0) unresolved = true;
    return values.map((value) => encodeURIComponent(String(value))).join(',');
  });
  // An embedded expression with no value (a hidden or absent patient) would widen the query to everyone's records: not run.
  if (unresolved) throw new Error(`the query ${template} has an embedded expression without a value`);
  run.deadline.check();
  const bundle = await run.data.search(query, run.request.limits.maxResourcesPerQuery);
  for (const entry of bundle.entry ?? []) if (entry.resource) disclose(run, entry.resource);
  return bundle;
}

async function populateItems(run: Population, items: readonly QuestionnaireItem[], variables: Variables): Promise<QuestionnaireResponseItem[]> {
  const out: QuestionnaireResponseItem[] = [];
  for (const item of items) out.push(...(await populateItem(run, item, variables)));
  return out;
}

/** The response items of one questionnaire item: none, one, or one per repetition of a populated group. */
async function populateItem(run: Population, item: QuestionnaireItem, outer: Variables): Promise<QuestionnaireResponseItem[]> {
  run.deadline.check();
  const variables = { ...outer };
  await defineVariables(run, item, variables, item.linkId);
  if (item.type === 'display') return [];
  if (item.type === 'group') return populateGroup(run, item, variables);
  const answers = await answersOf(run, item, variables);
  const children = await populateItems(run, item.item ?? [], variables);
  if (answers.length === 0 && children.length === 0) return [];
  const first = answers[0];
  if (first && children.length > 0) first.item = children;
  return [{ linkId: item.linkId, ...(item.text ? { text: item.text } : {}), ...(answers.length > 0 ? { answer: answers } : { item: children }) }];
}

/** A group with `itemPopulationContext` repeats once per resource of the context (SDC populate.html#itemPopulationContext). */
async function populateGroup(run: Population, item: QuestionnaireItem, variables: Variables): Promise<QuestionnaireResponseItem[]> {
  const [context] = expressionsOf(item, EXT.itemPopulationContext);
  const groupOf = (children: QuestionnaireResponseItem[]): QuestionnaireResponseItem => ({ linkId: item.linkId, ...(item.text ? { text: item.text } : {}), item: children });
  if (!context) {
    const children = await populateItems(run, item.item ?? [], variables);
    return children.length > 0 ? [groupOf(children)] : [];
  }
  let rows: unknown[];
  try {
    rows = await evaluateExpression(run, context, variables);
    // An x-fhir-query context is a Bundle: its resources are the rows.
    rows = rows.flatMap((row) => (isBundle(row) ? (row.entry ?? []).map((entry) => entry.resource).filter((r) => r !== undefined) : [row]));
  } catch (error) {
    if (isTimeLimit(error)) throw error;
    report(run, item.linkId, `itemPopulationContext: ${messageOf(error)}`);
    return [];
  }
  if (item.repeats !== true && rows.length > 1) {
    report(run, item.linkId, `the group does not repeat; only the first of ${rows.length} rows is used`);
    rows = rows.slice(0, 1);
  }
  const out: QuestionnaireResponseItem[] = [];
  for (const row of rows) {
    const scope = { ...variables, ...(context.name ? { [context.name]: row } : {}) };
    const children = await populateItems(run, item.item ?? [], scope);
    if (children.length > 0) out.push(groupOf(children));
  }
  return out;
}

const isBundle = (value: unknown): value is Bundle => (value as { resourceType?: unknown } | null)?.resourceType === 'Bundle';
const isTimeLimit = (error: unknown): boolean => error instanceof LimitExceeded && /time limit/.test(error.message);

/** initialExpression, else the latest Observation of the item's code, else `initial[x]`. */
async function answersOf(run: Population, item: QuestionnaireItem, variables: Variables): Promise<Answer[]> {
  const [initial] = expressionsOf(item, EXT.initialExpression);
  if (initial) {
    try {
      return fitAnswers(run, item, await evaluateExpression(run, initial, variables));
    } catch (error) {
      report(run, item.linkId, `initialExpression: ${messageOf(error)}`);
      if (isTimeLimit(error)) throw error;
      return [];
    }
  }
  const period = extensionsOf(item, EXT.observationLinkPeriod)[0]?.valueDuration as Duration | undefined;
  if (period && (item.code?.length ?? 0) > 0) {
    const value = await observationValue(run, item, period, variables);
    if (value !== undefined) return fitAnswers(run, item, [value]);
  }
  return initialAnswers(item);
}

function fitAnswers(run: Population, item: QuestionnaireItem, values: readonly unknown[]): Answer[] {
  const answers: Answer[] = [];
  for (const value of values) {
    const answer = answerFor(item, value);
    if (answer) answers.push(answer);
    else report(run, item.linkId, `a value of the record does not fit an item of type ${item.type}`);
  }
  if (item.repeats !== true && answers.length > 1) {
    report(run, item.linkId, `the item does not repeat; only the first of ${answers.length} values is used`);
    return answers.slice(0, 1);
  }
  return answers;
}

const DURATION_MS: Record<string, number> = { s: 1e3, min: 60e3, h: 3600e3, d: 86400e3, wk: 7 * 86400e3, mo: 30 * 86400e3, a: 365 * 86400e3 };

/**
 * Observation-based population (SDC populate.html#observation-based): the
 * most recent Observation of one of the item's codes within the link period,
 * status final, amended or corrected, about the patient and no other focus.
 * A code that names a component of a panel (a blood pressure's systolic)
 * takes that component's value.
 */
async function observationValue(run: Population, item: QuestionnaireItem, period: Duration, variables: Variables): Promise<unknown> {
  const patient = variables.patient as Resource | unknown[];
  if (Array.isArray(patient) || !patient.id) return undefined;
  const unit = period.code ?? period.unit ?? '';
  const length = DURATION_MS[unit];
  if (length === undefined || typeof period.value !== 'number') {
    report(run, item.linkId, `observationLinkPeriod has a unit this server does not read (${unit}); use s, min, h, d, wk, mo or a`);
    return undefined;
  }
  const since = new Date(run.request.now.getTime() - period.value * length).toISOString();
  const codes = (item.code ?? []).map((coding) => (coding.system ? `${coding.system}|${coding.code ?? ''}` : (coding.code ?? '')));
  const query = `Observation?subject=${encodeURIComponent(`Patient/${patient.id}`)}&combo-code=${codes.map(encodeURIComponent).join(',')}&status=final,amended,corrected&date=ge${encodeURIComponent(since)}&_sort=-date`;
  let bundle: Bundle;
  try {
    bundle = await run.data.search(query, run.request.limits.maxResourcesPerQuery);
  } catch (error) {
    report(run, item.linkId, `observation lookup: ${messageOf(error)}`);
    return undefined;
  }
  for (const entry of bundle.entry ?? []) {
    const observation = entry.resource as (Resource & Record<string, unknown>) | undefined;
    if (!observation || !FINAL_STATUSES.has(String(observation.status)) || observation.focus !== undefined) continue;
    const value = codedValue(observation, item.code ?? []);
    if (value !== undefined) {
      disclose(run, observation);
      return value;
    }
  }
  return undefined;
}

const sameCode = (a: Coding, b: Coding): boolean => a.code === b.code && (a.system === undefined || b.system === undefined || a.system === b.system);
const hasCode = (concept: unknown, codes: readonly Coding[]): boolean =>
  ((concept as { coding?: Coding[] } | undefined)?.coding ?? []).some((coding) => codes.some((code) => sameCode(coding, code)));

/** The Observation's value when its code matches, else the value of the component whose code matches. */
function codedValue(observation: Record<string, unknown>, codes: readonly Coding[]): unknown {
  if (hasCode(observation.code, codes)) return valueOf(observation);
  const components = (observation.component as Array<Record<string, unknown>> | undefined) ?? [];
  const component = components.find((candidate) => hasCode(candidate.code, codes));
  return component ? valueOf(component) : undefined;
}

function valueOf(element: Record<string, unknown>): unknown {
  const key = Object.keys(element).find((name) => name.startsWith('value'));
  return key === undefined ? undefined : element[key];
}
