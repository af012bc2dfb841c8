/**
 * Prints where a `node --cpu-prof` profile spent its time: self time by package or project
 * folder, and the functions with the most self time. With `--callers NAME` it prints instead
 * the call stacks that lead to the self time of the functions called NAME.
 * Usage: npx tsx bench/profile-summary.ts FILE.cpuprofile [TOP] [--callers NAME]
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const args = process.argv.slice(2);
const callersIndex = args.indexOf('--callers');
const callersOf = callersIndex >= 0 ? args.splice(callersIndex, 2)[1] : undefined;
const [file, topArgument] = args;
if (!file) {
  process.stderr.write(
    'Usage: npx tsx bench/profile-summary.ts FILE.cpuprofile [TOP] [--callers NAME]\n',
  );
  process.exit(2);
}
const top = Number(topArgument ?? 25);

const profile = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
const selfMicros = new Map<number, number>();
profile.samples.forEach((id, index) => {
  selfMicros.set(id, (selfMicros.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0));
});
const total = [...selfMicros.values()].reduce((sum, value) => sum + value, 0);

if (callersOf !== undefined) {
  printCallers(callersOf);
  process.exit(0);
}

const byArea = new Map<string, number>();
const byFunction = new Map<string, number>();
for (const [id, micros] of selfMicros) {
  const frame = nodes.get(id)!.callFrame;
  add(byArea, areaOf(frame.url, frame.functionName), micros);
  const where = frame.url ? `${shorten(frame.url)}:${frame.lineNumber + 1}` : '';
  add(byFunction, `${frame.functionName || '(anonymous)'} ${where}`, micros);
}

process.stdout.write(`${file}: ${(total / 1e6).toFixed(1)} s sampled\n\nSelf time by area\n`);
printTop(byArea);
process.stdout.write('\nSelf time by function\n');
printTop(byFunction);
process.stdout.write('\nTotal time (self and callees) by project function\n');
printTop(projectInclusiveTime());

/** Adds each sample's time once to every project function on its stack. */
function projectInclusiveTime(): Map<string, number> {
  const parents = new Map<number, number>();
  for (const node of profile.nodes)
    for (const child of node.children ?? []) parents.set(child, node.id);

  const inclusive = new Map<string, number>();
  for (const [id, micros] of selfMicros) {
    const seen = new Set<string>();
    for (
      let current: number | undefined = id;
      current !== undefined;
      current = parents.get(current)
    ) {
      const frame = nodes.get(current)!.callFrame;
      if (!frame.url.includes(repoRoot) || frame.url.includes('node_modules')) continue;
      seen.add(
        `${frame.functionName || '(anonymous)'} ${shorten(frame.url)}:${frame.lineNumber + 1}`,
      );
    }
    for (const name of seen) add(inclusive, name, micros);
  }

  return inclusive;
}

/** Prints the share of each caller stack, 8 frames deep, in the self time of `name`. */
function printCallers(name: string): void {
  const parents = new Map<number, number>();
  for (const node of profile.nodes)
    for (const child of node.children ?? []) parents.set(child, node.id);

  const stacks = new Map<string, number>();
  for (const [id, micros] of selfMicros) {
    if (nodes.get(id)!.callFrame.functionName !== name) continue;
    const frames: string[] = [];
    for (
      let parent = parents.get(id);
      parent !== undefined && frames.length < 8;
      parent = parents.get(parent)
    ) {
      const frame = nodes.get(parent)!.callFrame;
      frames.push(
        `${frame.functionName || '(anonymous)'} ${shorten(frame.url)}:${frame.lineNumber + 1}`,
      );
    }
    add(stacks, frames.join('\n         < '), micros);
  }

  const own = [...stacks.values()].reduce((sum, value) => sum + value, 0);
  process.stdout.write(
    `${name}: ${((100 * own) / total).toFixed(1)}% of ${(total / 1e6).toFixed(1)} s\n`,
  );
  printTop(stacks);
}

function add(map: Map<string, number>, key: string, micros: number): void {
  map.set(key, (map.get(key) ?? 0) + micros);
}

function printTop(map: Map<string, number>): void {
  const rows = [...map].sort((a, b) => b[1] - a[1]).slice(0, top);
  const text = rows.map(
    ([name, micros]) => `${((100 * micros) / total).toFixed(1).padStart(5)}%  ${name}`,
  );
  process.stdout.write(`${text.join('\n')}\n`);
}

/** Returns the npm package, project folder, Node internals or profiler pseudo-frame of a frame. */
function areaOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const packageMatch = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (packageMatch) return packageMatch[1]!;
  if (url.startsWith('node:')) return 'node internals';

  const relative = url.replace(/^file:\/\//, '').replace(repoRoot, '');
  const folder = /^([^/]+\/(?:[^/]+\/)?)/.exec(relative);
  return folder ? `project ${folder[1]}` : url;
}

function shorten(url: string): string {
  return url
    .replace(/^file:\/\//, '')
    .replace(/^.*node_modules\//, '')
    .replace(repoRoot, '');
}
