import type { Coding, Quantity, QuestionnaireItem, QuestionnaireResponseItemAnswer, Reference } from 'fhir/r4';

/**
 * Turning values (FHIRPath results, Observation values, `initial[x]`) into
 * answers of a Questionnaire item's type (R4 questionnaire.html, the table
 * of item types and answer value[x]). A value that does not fit the type is
 * not an answer: the caller reports it as an issue of the item.
 */
export type Answer = QuestionnaireResponseItemAnswer;

const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);

function asCoding(value: unknown): Coding | undefined {
  if (!isObject(value)) return undefined;
  if (typeof value.code === 'string' || typeof value.system === 'string') {
    const { system, code, display, version } = value as Coding;
    return { ...(system ? { system } : {}), ...(version ? { version } : {}), ...(code ? { code } : {}), ...(display ? { display } : {}) };
  }
  // A CodeableConcept answers with its first coding (choice items take a Coding).
  const first = Array.isArray(value.coding) ? (value.coding as unknown[])[0] : undefined;
  return first === undefined ? undefined : asCoding(first);
}

/** A choice item with answerOptions takes the option that has the coding's system and code, with the option's display. */
function matchOption(item: QuestionnaireItem, coding: Coding): Coding | undefined {
  const options = item.answerOption ?? [];
  if (options.length === 0) return coding;
  const option = options.find((candidate) => candidate.valueCoding?.code === coding.code && (coding.system === undefined || candidate.valueCoding?.system === coding.system));
  return option?.valueCoding;
}

function asQuantity(value: unknown): Quantity | undefined {
  if (typeof value === 'number') return { value };
  if (!isObject(value) || typeof value.value !== 'number') return undefined;
  const { value: amount, unit, system, code, comparator } = value as Quantity;
  return { value: amount, ...(comparator ? { comparator } : {}), ...(unit ? { unit } : {}), ...(system ? { system } : {}), ...(code ? { code } : {}) };
}

function asReference(value: unknown): Reference | undefined {
  if (!isObject(value)) return undefined;
  if (typeof value.reference === 'string') return { reference: value.reference, ...(typeof value.display === 'string' ? { display: value.display } : {}) };
  if (typeof value.resourceType === 'string' && typeof value.id === 'string') return { reference: `${value.resourceType}/${value.id}` };
  return undefined;
}

const DATE = /^\d{4}(-\d{2}(-\d{2})?)?/;

/** The answer for `value` on an item of `item.type`, or undefined when it does not fit. */
export function answerFor(item: QuestionnaireItem, value: unknown): Answer | undefined {
  switch (item.type) {
    case 'string':
    case 'text':
      if (typeof value === 'string') return { valueString: value };
      if (typeof value === 'number' || typeof value === 'boolean') return { valueString: String(value) };
      return undefined;
    case 'boolean':
      return typeof value === 'boolean' ? { valueBoolean: value } : undefined;
    case 'decimal': {
      const number = typeof value === 'number' ? value : asQuantity(value)?.value;
      return number === undefined ? undefined : { valueDecimal: number };
    }
    case 'integer': {
      const number = typeof value === 'number' ? value : asQuantity(value)?.value;
      return number !== undefined && Number.isInteger(number) ? { valueInteger: number } : undefined;
    }
    case 'date': {
      const date = typeof value === 'string' ? DATE.exec(value)?.[0] : undefined;
      return date ? { valueDate: date } : undefined;
    }
    case 'dateTime':
      return typeof value === 'string' && DATE.test(value) ? { valueDateTime: value } : undefined;
    case 'time':
      return typeof value === 'string' && /^\d{2}:\d{2}(:\d{2})?/.test(value) ? { valueTime: value } : undefined;
    case 'url':
      return typeof value === 'string' ? { valueUri: value } : undefined;
    case 'choice':
    case 'open-choice': {
      // A code (Patient.gender) names the answerOption with that code.
      const coding = typeof value === 'string' && (item.answerOption ?? []).length > 0 ? { code: value } : asCoding(value);
      const chosen = coding ? matchOption(item, coding) : undefined;
      if (chosen) return { valueCoding: chosen };
      // An open-choice item takes free text when no option fits (questionnaire.html: open-choice).
      if (item.type === 'open-choice' && typeof value === 'string') return { valueString: value };
      return undefined;
    }
    case 'quantity': {
      const quantity = asQuantity(value);
      return quantity ? { valueQuantity: quantity } : undefined;
    }
    case 'reference': {
      const reference = asReference(value);
      return reference ? { valueReference: reference } : undefined;
    }
    default:
      return undefined;
  }
}

/** The item's `initial[x]` values as answers (questionnaire.html: Questionnaire.item.initial). */
export function initialAnswers(item: QuestionnaireItem): Answer[] {
  return (item.initial ?? []).flatMap((initial) => {
    const entries = Object.entries(initial).filter(([key]) => key.startsWith('value'));
    return entries.map(([key, value]) => ({ [key]: value }) as Answer);
  });
}
