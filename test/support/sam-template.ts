/**
 * Reads an AWS SAM or CloudFormation template with the `yaml` package. The short-form
 * intrinsic functions (`!Ref`, `!GetAtt`, `!Sub` and the others) become their long form, such
 * as `{ Ref: 'JobQueue' }` and `{ 'Fn::GetAtt': ['JobQueue', 'Arn'] }`.
 */
import { readFileSync } from 'node:fs';

import { parse, type Tags, type YAMLMap, type YAMLSeq } from 'yaml';

/** CloudFormation's short-form tags, each with the key of its long form. */
const intrinsicKeys: Record<string, string> = {
  Ref: 'Ref',
  Condition: 'Condition',
  GetAtt: 'Fn::GetAtt',
  Sub: 'Fn::Sub',
  Join: 'Fn::Join',
  If: 'Fn::If',
  Select: 'Fn::Select',
  Split: 'Fn::Split',
  FindInMap: 'Fn::FindInMap',
  GetAZs: 'Fn::GetAZs',
  ImportValue: 'Fn::ImportValue',
  Equals: 'Fn::Equals',
  And: 'Fn::And',
  Or: 'Fn::Or',
  Not: 'Fn::Not',
  Base64: 'Fn::Base64',
  Cidr: 'Fn::Cidr',
};

/** Builds the yaml tags of every short form, on scalars, sequences and mappings. */
function intrinsicTags(): Tags {
  const tags: Tags = [];
  for (const [name, key] of Object.entries(intrinsicKeys)) {
    const tag = `!${name}`;
    // `!GetAtt Resource.Attribute` is the only short form whose scalar is split.
    const split = name === 'GetAtt';
    const fromCollection = (value: YAMLMap | YAMLSeq) => ({ [key]: value.toJSON() });
    tags.push({ tag, resolve: (value: string) => ({ [key]: split ? value.split('.') : value }) });
    tags.push({ tag, collection: 'seq', resolve: fromCollection });
    tags.push({ tag, collection: 'map', resolve: fromCollection });
  }

  return tags;
}

/** One resource of a template. */
export interface TemplateResource {
  Type: string;
  Properties?: Record<string, unknown>;
  Metadata?: Record<string, unknown>;
}

/** The parts of a SAM template that the deployment tests read. */
export interface SamTemplate {
  Parameters?: Record<string, { Type: string; Default?: string | number }>;
  Globals?: { Function?: { Environment?: { Variables?: Record<string, unknown> } } };
  Resources: Record<string, TemplateResource>;
}

/** Parses the template at `path`. */
export function readSamTemplate(path: string): SamTemplate {
  return parse(readFileSync(path, 'utf8'), { customTags: intrinsicTags() }) as SamTemplate;
}

/** Returns the logical id that a `Ref` names, or undefined for any other value. */
export function refOf(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || !('Ref' in value)) return undefined;

  return String((value as { Ref: unknown }).Ref);
}

/** Returns `[logicalId, attribute]` of a `Fn::GetAtt`, or undefined for any other value. */
export function getAttOf(value: unknown): [string, string] | undefined {
  if (typeof value !== 'object' || value === null || !('Fn::GetAtt' in value)) return undefined;

  const [resource, attribute] = (value as { 'Fn::GetAtt': unknown[] })['Fn::GetAtt'];
  return [String(resource), String(attribute)];
}

/** Walks `value` and returns every `Fn::GetAtt` in it. */
export function findGetAtts(value: unknown): Array<[string, string]> {
  const found = getAttOf(value);
  if (found) return [found];
  if (typeof value !== 'object' || value === null) return [];

  return Object.values(value).flatMap(findGetAtts);
}
