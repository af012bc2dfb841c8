/**
 * Validates OpenAPI documents with the Python package `openapi-spec-validator` (0.9.0 in the
 * development machines' Python 3.11), which checks them against the OpenAPI 3.1 JSON Schema.
 * No npm package that does this is installed, so the tests use it where Python has it.
 */
import { execFile, execFileSync } from 'node:child_process';

/** Validates each document of a JSON array on stdin and prints one result per document. */
const script = `
import json, sys
from openapi_spec_validator import validate
results = []
for document in json.load(sys.stdin):
    try:
        validate(document)
        results.append(None)
    except Exception as error:
        results.append(str(error).splitlines()[0])
print(json.dumps(results))
`;

/** True when `python3` can import `openapi_spec_validator`. */
export function hasOpenApiValidator(): boolean {
  try {
    execFileSync('python3', ['-c', 'import openapi_spec_validator'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Returns, for each document, null when it is valid or the first validation error. */
export function validateOpenApi(documents: readonly object[]): Promise<Array<string | null>> {
  return new Promise((resolve, reject) => {
    const options = { timeout: 60_000 };
    const child = execFile('python3', ['-c', script], options, (error, stdout, stderr) => {
      if (error) {
        return reject(new Error(`openapi_spec_validator failed: ${stderr || error.message}`));
      }
      resolve(JSON.parse(stdout) as Array<string | null>);
    });
    child.stdin?.end(JSON.stringify(documents));
  });
}
