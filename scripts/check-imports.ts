/** Fails `npm test` when a function file imports a host or infrastructure. */
import { checkedFolders, findViolations } from './import-rules.js';

const root = new URL('..', import.meta.url).pathname;
const violations = checkedFolders.flatMap((folder) => findViolations(root, folder));

for (const violation of violations) process.stderr.write(`${violation}\n`);
if (violations.length > 0) process.exit(1);

process.stdout.write(`Import rule holds: ${checkedFolders.join(' and ')} import no host or infrastructure\n`);
