/**
 * Checks that what is deployed matches the code: the SAM template in infra/aws/ against the
 * Lambda entry points and the settings that runtime/config.ts reads, and functions/index.ts
 * against the function files. The entry and the index are read as text, because importing the
 * Lambda entry needs real settings and a reachable Redis.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { loadConfig, settingNames } from '../../runtime/config.js';
import {
  findGetAtts,
  getAttOf,
  readSamTemplate,
  refOf,
  type SamTemplate,
  type TemplateResource,
} from '../support/sam-template.js';

const root = new URL('../../', import.meta.url);
const readText = (path: string) => readFileSync(new URL(path, root), 'utf8');

const entryPath = 'runtime/entry/lambda.ts';
const entryText = readText(entryPath);
const templatePath = fileURLToPath(new URL('infra/aws/template.yaml', root));
const template: SamTemplate = readSamTemplate(templatePath);

/** How the Lambda entry builds one exported handler. */
interface EntryExport {
  name: string;
  kind: 'http' | 'job';
  /** True when the handler is built with `responseStreaming: true`. */
  streaming: boolean;
}

/** Lists the handlers that the Lambda entry exports, from its `export const x = create…(` lines. */
function entryExports(): EntryExport[] {
  const chunks = entryText.split(/^export const /m).slice(1);

  return chunks.flatMap((chunk) => {
    const match = /^(\w+) = (createLambdaHttpHandler|createSqsHandler)\(/.exec(chunk);
    if (!match) return [];

    const kind = match[2] === 'createSqsHandler' ? 'job' : 'http';
    return [{ name: match[1]!, kind, streaming: /responseStreaming: true/.test(chunk) }];
  });
}

/** Lists every AWS::Serverless::Function with its logical id. */
function functionsOf(): Array<[string, TemplateResource]> {
  return Object.entries(template.Resources).filter(
    ([, res]) => res.Type === 'AWS::Serverless::Function',
  );
}

/** Finds the function whose Handler is `lambda.<exportName>`. */
function functionFor(exportName: string): TemplateResource | undefined {
  const moduleName = entryPath.split('/').pop()!.replace(/\.ts$/, '');
  const handler = `${moduleName}.${exportName}`;
  const found = functionsOf().find(([, res]) => res.Properties?.Handler === handler);

  return found?.[1];
}

/** Resolves a number that is literal or a `Ref` to a parameter with a default. */
function numberOf(value: unknown): number {
  const ref = refOf(value);
  if (ref === undefined) return Number(value);

  return Number(template.Parameters?.[ref]?.Default);
}

function eventsOf(fn: TemplateResource | undefined): Array<{ Type: string; Properties?: any }> {
  return Object.values((fn?.Properties?.Events ?? {}) as Record<string, { Type: string }>);
}

function queueOf(worker: TemplateResource | undefined): string | undefined {
  const sqsEvent = eventsOf(worker).find((event) => event.Type === 'SQS');

  return getAttOf(sqsEvent?.Properties?.Queue)?.[0];
}

function environment(): Record<string, unknown> {
  return template.Globals?.Function?.Environment?.Variables ?? {};
}

describe('Lambda entry in the template', () => {
  const exports = entryExports();

  it('finds the three entry exports', () => {
    expect(exports.map((entry) => entry.name)).toEqual(['api', 'apiStream', 'worker']);
  });

  it.each(exports)('deploys $name', ({ name }) => {
    expect(functionFor(name)).toBeDefined();
  });

  it('names only entry exports', () => {
    const names = new Set(exports.map((entry) => `lambda.${entry.name}`));
    const unknown = functionsOf()
      .map(([, res]) => String(res.Properties?.Handler))
      .filter((handler) => !names.has(handler));

    expect(unknown).toEqual([]);
  });

  it.each(functionsOf())('builds %s from the entry', (_id, res) => {
    const build = res.Metadata?.BuildProperties as { EntryPoints?: string[] } | undefined;

    expect(build?.EntryPoints).toContain(entryPath);
  });

  it.each(exports.filter((entry) => entry.kind === 'http' && !entry.streaming))(
    'puts $name behind HTTP API 2.0',
    ({ name }) => {
      const httpApi = eventsOf(functionFor(name)).find((event) => event.Type === 'HttpApi');

      expect(httpApi?.Properties?.PayloadFormatVersion).toBe('2.0');
    },
  );

  it.each(exports.filter((entry) => entry.streaming))(
    'streams $name from a Function URL',
    ({ name }) => {
      const urlConfig = functionFor(name)?.Properties?.FunctionUrlConfig as { InvokeMode?: string };

      expect(urlConfig?.InvokeMode).toBe('RESPONSE_STREAM');
    },
  );

  it.each(exports.filter((entry) => entry.kind === 'job'))('feeds $name from SQS', ({ name }) => {
    const sqsEvent = eventsOf(functionFor(name)).find((event) => event.Type === 'SQS');

    expect(sqsEvent?.Properties?.FunctionResponseTypes).toContain('ReportBatchItemFailures');
  });
});

describe('job queue in the template', () => {
  const worker = functionFor('worker');
  const queueId = queueOf(worker);
  const queue = queueId === undefined ? undefined : template.Resources[queueId];
  const redrive = queue?.Properties?.RedrivePolicy as
    | { deadLetterTargetArn?: unknown; maxReceiveCount?: unknown }
    | undefined;

  it('is an SQS queue', () => {
    expect(queue?.Type).toBe('AWS::SQS::Queue');
  });

  it('has a dead-letter queue', () => {
    const [targetId, attribute] = getAttOf(redrive?.deadLetterTargetArn) ?? [];

    expect(attribute).toBe('Arn');
    expect(targetId).not.toBe(queueId);
    expect(template.Resources[targetId ?? '']?.Type).toBe('AWS::SQS::Queue');
  });

  it('hides messages for 6 worker timeouts', () => {
    const timeout = numberOf(worker?.Properties?.Timeout);
    const visibility = numberOf(queue?.Properties?.VisibilityTimeout);

    expect(timeout).toBeGreaterThan(0);
    expect(visibility).toBeGreaterThanOrEqual(6 * timeout);
  });

  it('tells the worker its maxReceiveCount', () => {
    const fromEnvironment = numberOf(environment().SQS_MAX_RECEIVE_COUNT);

    expect(fromEnvironment).toBe(numberOf(redrive?.maxReceiveCount));
  });

  it('tells the worker its queue', () => {
    expect(refOf(environment().SQS_QUEUE_URL)).toBe(queueId);
  });
});

/** Attributes that `Fn::GetAtt` returns, for the resource types the template declares. */
const getAttAttributes: Record<string, readonly string[]> = {
  // CloudFormation User Guide, AWS::SQS::Queue, "Return values".
  'AWS::SQS::Queue': ['Arn', 'QueueName', 'QueueUrl'],
  'AWS::Serverless::Function': ['Arn'],
};

describe('template references', () => {
  const getAtts = findGetAtts(template).filter(([id]) => template.Resources[id] !== undefined);

  it('finds the GetAtt references', () => {
    expect(getAtts.length).toBeGreaterThan(0);
  });

  it('asks only for attributes that exist', () => {
    const invalid = getAtts.filter(([id, attribute]) => {
      const known = getAttAttributes[template.Resources[id]!.Type];
      return known !== undefined && !known.includes(attribute);
    });

    expect(invalid).toEqual([]);
  });
});

/** Values for the parameters that have no default. */
const parameterSamples: Record<string, string> = {
  RedisUrl: 'redis://export-redis.internal:6379',
  ReadTokenSecret: 'conformance-read-token-secret-0123456789',
};

/** Turns a template value into the string the function would see, with sample ids. */
function sampleOf(value: unknown): string {
  const ref = refOf(value);
  if (ref === 'AWS::Region') return 'eu-west-1';
  if (ref !== undefined && template.Parameters?.[ref]) {
    return String(template.Parameters[ref]!.Default ?? parameterSamples[ref]);
  }
  if (ref !== undefined && template.Resources[ref]?.Type === 'AWS::SQS::Queue') {
    return `https://sqs.eu-west-1.amazonaws.com/123456789012/${ref}`;
  }

  const getAtt = getAttOf(value);
  if (getAtt) return sampleOf(template.Resources[getAtt[0]]?.Properties?.[getAtt[1]]);
  if (typeof value === 'string' || typeof value === 'number') return String(value);

  throw new Error(`The test has no sample for the template value ${JSON.stringify(value)}`);
}

describe('template environment', () => {
  const names = Object.keys(environment());

  it('sets only settings config reads', () => {
    const unknown = names.filter((name) => !settingNames.includes(name));

    expect(unknown).toEqual([]);
  });

  it('sets what the entry requires', () => {
    const message = /throw new Error\(\s*'([^']*must be set[^']*)'/.exec(entryText)?.[1] ?? '';
    const required = settingNames.filter((name) => new RegExp(`\\b${name}\\b`).test(message));

    expect(required.length).toBeGreaterThan(0);
    expect(required.filter((name) => !names.includes(name))).toEqual([]);
  });

  it('passes loadConfig', () => {
    const env = Object.fromEntries(names.map((name) => [name, sampleOf(environment()[name])]));

    expect(() => loadConfig(env)).not.toThrow();
  });

  it('gives the worker the template limits', () => {
    const env = Object.fromEntries(names.map((name) => [name, sampleOf(environment()[name])]));
    const worker = functionFor('worker');
    const queueId = queueOf(worker) ?? '';
    const queue = template.Resources[queueId];

    expect(loadConfig(env).lambda).toEqual({
      queueUrl: sampleOf({ Ref: queueId }),
      timeoutSeconds: numberOf(worker?.Properties?.Timeout),
      visibilityTimeoutSeconds: numberOf(queue?.Properties?.VisibilityTimeout),
      maxReceiveCount: numberOf(template.Parameters?.SqsMaxReceiveCount?.Default),
    });
  });
});

describe('functions/index.ts', () => {
  const indexText = readText('functions/index.ts');
  const functionFiles = readdirSync(new URL('functions/', root), { withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => entry.name)
    .filter((name) => !name.endsWith('.test.ts') && name !== 'index.ts');

  /** Returns the identifiers listed in the array exported as `name`. */
  function listed(name: string): string[] {
    const array = new RegExp(`export const ${name}[^=]*=\\s*\\[([\\s\\S]*?)\\];`);
    const body = array.exec(indexText)?.[1];
    const withoutComments = (body ?? '').replace(/\/\/.*$/gm, '');

    return withoutComments.match(/\b\w+\b/g) ?? [];
  }

  it('finds the function files', () => {
    expect(functionFiles.length).toBeGreaterThan(10);
  });

  it.each(functionFiles)('registers %s', (file) => {
    const source = readText(`functions/${file}`);
    const definition = /export const (\w+) = define(Http|Sse|Job)\(/.exec(source);
    const [, name = '', kind] = definition ?? [];
    const list = kind === 'Job' ? 'jobFunctions' : 'httpFunctions';
    const moduleName = file.replace(/\.ts$/, '.js');
    const imported = new RegExp(`import \\{[^}]*\\b${name}\\b[^}]*\\} from '\\./${moduleName}'`);

    expect(definition).not.toBeNull();
    expect(indexText).toMatch(imported);
    expect(listed(list)).toContain(name);
  });
});
