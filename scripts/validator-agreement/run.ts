/**
 * Agreement of Concord's validator with the HL7 reference validator (HAPI
 * FHIR 8.8.0, offline), on the official R4 examples and mutated copies of
 * them. Optional: without `java` and `mvn` on the PATH it says so and stops.
 *
 *   npx tsx scripts/validator-agreement/run.ts [--package DIR] [--limit N]
 *
 * The reference validator and its dependencies come from Maven Central
 * (pom.xml beside this script); a tiny Java main (Agreement.java) is
 * compiled into a temporary folder. Nothing is vendored or committed.
 * Each file is accepted (no error) or rejected by each side; the table
 * counts the four cases, and the disagreements are listed.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../../src/paths';
import { createValidator } from '../../src/validation/validator';
import { openSpecPackage } from '../conformance/package-source';
import { mutations } from './mutations';

const here = join(projectRoot, 'scripts', 'validator-agreement');

function has(command: string): boolean {
  return spawnSync(command, ['-version'], { stdio: 'ignore' }).status === 0;
}

function argument(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i < 0 ? undefined : process.argv[i + 1];
}

/** The folders of types that are examples of data, not definitions (those are the spec's own artefacts). */
const DEFINITIONS = /^(StructureDefinition|ValueSet|CodeSystem|ConceptMap|SearchParameter|OperationDefinition|CapabilityStatement|CompartmentDefinition|ImplementationGuide|NamingSystem|Bundle|ig-r4|package)/;

function buildCorpus(dir: string, limit: number): string[] {
  const pkg = openSpecPackage(argument('--package'));
  try {
    const files = pkg.files().filter((f) => !DEFINITIONS.test(f)).slice(0, limit);
    const names: string[] = [];
    for (const file of files) {
      const resource = pkg.read(file);
      writeFileSync(join(dir, file), JSON.stringify(resource));
      names.push(file);
      for (const [label, mutated] of mutations(resource)) {
        const name = `${file.replace(/\.json$/, '')}~${label}.json`;
        writeFileSync(join(dir, name), JSON.stringify(mutated));
        names.push(name);
      }
    }
    return names;
  } finally {
    pkg.close();
  }
}

function referenceVerdicts(dir: string): Map<string, { errors: number; first: string }> {
  const build = mkdtempSync(join(tmpdir(), 'agreement-java-'));
  try {
    const cpFile = join(build, 'cp.txt');
    execFileSync('mvn', ['-q', '-B', '-f', join(here, 'pom.xml'), 'dependency:build-classpath', `-Dmdep.outputFile=${cpFile}`], { stdio: 'inherit' });
    const classpath = readFileSync(cpFile, 'utf8').trim();
    const classes = join(build, 'classes');
    mkdirSync(classes);
    execFileSync('javac', ['-cp', classpath, '-d', classes, join(here, 'src', 'main', 'java', 'concord', 'Agreement.java')], { stdio: 'inherit' });
    const out = execFileSync('java', ['-Xmx2g', '-cp', `${classes}:${classpath}`, 'concord.Agreement', dir], { maxBuffer: 256 * 1024 * 1024 }).toString();
    const verdicts = new Map<string, { errors: number; first: string }>();
    for (const line of out.split('\n')) {
      const [name, errors, first] = line.split('\t');
      if (name && errors !== undefined) verdicts.set(name, { errors: Number(errors), first: first ?? '' });
    }
    return verdicts;
  } finally {
    rmSync(build, { recursive: true, force: true });
  }
}

function main(): void {
  if (!has('java') || !has('mvn')) {
    console.log('validator agreement: SKIPPED (java and mvn are needed on the PATH)');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'agreement-corpus-'));
  try {
    const names = buildCorpus(dir, Number(argument('--limit') ?? 400));
    const reference = referenceVerdicts(dir);
    const concord = createValidator();
    const counts = { bothAccept: 0, bothReject: 0, onlyConcordRejects: 0, onlyReferenceRejects: 0 };
    const disagreements: string[] = [];
    for (const name of names) {
      const theirs = reference.get(name);
      if (!theirs) continue;
      const ours = concord.validate(JSON.parse(readFileSync(join(dir, name), 'utf8'))).filter((i) => i.severity === 'error');
      const weReject = ours.length > 0;
      const theyReject = theirs.errors > 0;
      if (weReject && theyReject) counts.bothReject++;
      else if (!weReject && !theyReject) counts.bothAccept++;
      else if (weReject) {
        counts.onlyConcordRejects++;
        disagreements.push(`Concord only  ${name}: ${ours[0]?.diagnostics ?? ''}`);
      } else {
        counts.onlyReferenceRejects++;
        disagreements.push(`reference only ${name}: ${theirs.first.slice(0, 200)}`);
      }
    }
    const total = counts.bothAccept + counts.bothReject + counts.onlyConcordRejects + counts.onlyReferenceRejects;
    console.log(disagreements.join('\n'));
    console.log('\ncase                         files');
    for (const [k, v] of Object.entries(counts)) console.log(`${k.padEnd(28)} ${String(v).padStart(5)}`);
    console.log(`${'agreement'.padEnd(28)} ${(((counts.bothAccept + counts.bothReject) / total) * 100).toFixed(1)}% of ${total}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main();
