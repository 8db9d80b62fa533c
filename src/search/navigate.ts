/**
 * Element navigation over resource JSON with the FHIR R4 model tables that
 * fhirpath.js uses, so that a compiled search path (compiled-path.ts) finds
 * the same elements, with the same FHIR types and element paths, as
 * fhirpath.js's member access would — without its interpreter.
 *
 * Mirrors fhirpath.js `util.makeChildResNode` and the ResourceNode
 * constructor: choice elements pick the first variant present in the model's
 * order, `_x` siblings (primitive extensions) yield nodes without a value,
 * a value carrying `resourceType` is typed as that resource.
 */
import r4Model from 'fhirpath/fhir-context/r4';
import type { FoundValue } from './extract';

/** One element found by navigation: what the extractors need, plus where it sits in the model. */
export interface ElementNode extends FoundValue {
  /** The model path fhirpath.js keeps for the node (`Observation.component`, or the type name, e.g. `Quantity`). */
  modelPath: string | null;
  /** The `_x` sibling of a primitive (its id and extensions). */
  extra: unknown;
}

type Json = Record<string, unknown>;

interface ModelTables {
  choiceTypePaths: Record<string, string[]>;
  pathsDefinedElsewhere: Record<string, string>;
  type2Parent: Record<string, string>;
  path2Type: Record<string, string>;
  path2TypeWithoutElements: Record<string, string>;
}

const model = r4Model as unknown as ModelTables;

/** Where a member `name` of an element at a model path leads. */
interface MemberInfo {
  /** JSON property names to try, in the model's order (one for a non-choice element). */
  variants: { field: string; modelPath: string; type: string | undefined }[];
  choice: boolean;
}

const memberInfos = new Map<string, MemberInfo>();

function memberInfo(parentPath: string, name: string): MemberInfo {
  const key = `${parentPath}.${name}`;
  let info = memberInfos.get(key);
  if (info) return info;
  const childPath = model.pathsDefinedElsewhere[key] ?? key;
  const choiceTypes = model.choiceTypePaths[childPath];
  const typed = (field: string, path: string) => ({
    field,
    type: model.path2Type[path],
    modelPath: model.path2TypeWithoutElements[path] ?? path,
  });
  if (choiceTypes) {
    info = { choice: true, variants: choiceTypes.map((t) => typed(name + t, childPath + t)) };
  } else {
    info = { choice: false, variants: [typed(name, name === 'extension' ? 'Extension' : childPath)] };
  }
  memberInfos.set(key, info);
  return info;
}

/**
 * The member `name` as a navigation step. A step almost always meets parents
 * of one model path, so it remembers the last one's member info rather than
 * looking it up per node.
 */
export function memberOf(name: string): (parent: ElementNode, out: ElementNode[]) => void {
  let lastPath: string | null = null;
  let lastInfo: MemberInfo | undefined;
  return (parent, out) => {
    const path = parent.modelPath;
    if (path !== null && path !== lastPath) {
      lastPath = path;
      lastInfo = memberInfo(path, name);
    }
    pushChildren(parent, name, path === null ? undefined : lastInfo, out);
  };
}

const isSome = (v: unknown): boolean => v !== null && v !== undefined;

function node(data: unknown, extra: unknown, parent: ElementNode, modelPath: string | null, type: string | undefined, name: string): ElementNode {
  const resourceType = typeof data === 'object' && data !== null ? (data as Json).resourceType : undefined;
  if (resourceType) {
    // A contained resource (or anything that says it is one) is typed by what it says.
    modelPath = String(resourceType);
    type = String(resourceType);
  }
  const elementPath = parent.modelPath && name ? `${parent.modelPath}.${name}` : undefined;
  return { data, extra: extra || null, modelPath: modelPath || null, type: type || undefined, path: elementPath };
}

/** The root node of a resource, as fhirpath.js makes it. */
export function resourceNode(resource: Json): ElementNode {
  const type = String(resource.resourceType);
  return { data: resource, extra: null, modelPath: type, type, path: undefined };
}

/** Appends the children `name` of `parent` to `out`; `info` is the member's, unless the parent has no model path. */
function pushChildren(parent: ElementNode, name: string, info: MemberInfo | undefined, out: ElementNode[]): void {
  const data = parent.data as Json | null | undefined;
  let toAdd: unknown;
  let extra: unknown;
  let modelPath: string | null = null;
  let type: string | undefined;
  if (info) {
    let chosen = info.choice ? undefined : info.variants[0];
    if (chosen) {
      toAdd = data?.[name];
      extra = data?.[`_${name}`];
      if (toAdd === undefined && extra === undefined) toAdd = (parent.extra as Json | null)?.[name];
    } else {
      for (const variant of info.variants) {
        toAdd = data?.[variant.field];
        extra = data?.[`_${variant.field}`];
        if (toAdd !== undefined || extra !== undefined) {
          chosen = variant;
          break;
        }
      }
    }
    // A choice element with no variant present keeps fhirpath.js's untyped path; it has no values anyway.
    modelPath = chosen?.modelPath ?? null;
    type = chosen?.type;
  } else {
    toAdd = data?.[name];
    extra = data?.[`_${name}`];
    if (toAdd === undefined && extra === undefined) toAdd = (parent.extra as Json | null)?.[name];
  }
  if (!isSome(toAdd) && !isSome(extra)) return;
  if (Array.isArray(toAdd)) {
    const extras = extra as Json | null | undefined;
    for (let i = 0; i < toAdd.length; i++) out.push(node(toAdd[i], extras && extras[i], parent, modelPath, type, name));
    const extraLength = (extras?.length as number | undefined) || 0;
    for (let i = toAdd.length; i < extraLength; i++) out.push(node(null, extras![i], parent, modelPath, type, name));
    return;
  }
  if (toAdd == null && Array.isArray(extra)) {
    for (const x of extra as unknown[]) out.push(node(null, x, parent, modelPath, type, name));
    return;
  }
  out.push(node(toAdd, extra, parent, modelPath, type, name));
}

/**
 * `extension('url')`: the node's extensions (or its primitive's) with that url,
 * typed `Extension` as fhirpath.js's extension() function types them.
 */
export function pushExtensions(parent: ElementNode, url: string, out: ElementNode[]): void {
  const extensions = (parent.data as Json | null | undefined)?.extension ?? (parent.extra as Json | null)?.extension;
  if (!Array.isArray(extensions)) return;
  for (const extension of extensions as Json[]) {
    if (extension.url === url) out.push(node(extension, null, parent, 'Extension', 'Extension', 'extension'));
  }
}

/**
 * `ofType(T)`: fhirpath.js's `isConvertibleTo` for a typed FHIR node — the type
 * itself or one of its ancestors (Age is a Quantity, code is a string).
 * Untyped nodes are not compiled (see compiled-path.ts), so they never get here.
 */
export function isOfType(type: string | undefined, wanted: string): boolean {
  for (let t = type; t !== undefined; t = model.type2Parent[t]) if (t === wanted) return true;
  return false;
}
