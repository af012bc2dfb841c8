/** An empty program that waits, for measuring what `node --import tsx` costs alone. */
process.stdout.write('idle\n');
setInterval(() => undefined, 60_000);
