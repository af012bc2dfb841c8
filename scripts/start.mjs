// `npm start`: installs the npm dependencies when they are missing, then runs the local stack.
// Plain JavaScript, because TypeScript runs through tsx, which is itself a dependency.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

if (!existsSync(`${root}/node_modules/tsx/package.json`)) {
  process.stdout.write('Installing npm dependencies (npm ci)…\n');
  const install = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
  if (install.status !== 0) process.exit(install.status ?? 1);
}

// The `local` script contains the command, with the --import that starts OpenTelemetry before
// any instrumented module loads. Node runs it directly: through npm and a shell, a SIGTERM
// would stop npm but leave the stack running.
const scripts = JSON.parse(readFileSync(`${root}/package.json`, 'utf8')).scripts;
const [command, ...args] = scripts.local.split(' ');
if (command !== 'node') throw new Error('The local script must start with "node"');
const child = spawn(process.execPath, args, {
  cwd: root,
  stdio: 'inherit',
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
