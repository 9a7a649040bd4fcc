// build-metal.mjs — on macOS, builds the Metal executor (native-shim/metal, a
// Swift package) with `swift build -c release` into
// native-shim/metal/.build/release/libferrum_metal.dylib; elsewhere does
// nothing. Called by build-native.mjs (so `npm install` and
// `npm run build:native` both run it). Prints one line. A failed Swift build
// does not fail the install (ferrum then runs on the CPU backend) unless
// FERRUM_REQUIRE_METAL=1; FERRUM_SKIP_METAL=1 skips the step.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

export function buildMetal() {
  if (process.platform !== 'darwin') return;
  if (process.env.FERRUM_SKIP_METAL === '1') {
    console.log('build-metal: skipped (FERRUM_SKIP_METAL=1)');
    return;
  }
  const pkg = join(root, 'native-shim', 'metal');
  const lib = join(pkg, '.build', 'release', 'libferrum_metal.dylib');
  const started = Date.now();
  const r = spawnSync('swift', ['build', '-c', 'release', '--package-path', pkg], { encoding: 'utf8' });
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  if (r.error || r.status !== 0 || !existsSync(lib)) {
    if (!r.error) process.stderr.write(`${r.stdout ?? ''}${r.stderr ?? ''}`.split('\n').slice(-40).join('\n'));
    const why = r.error ? `cannot run swift (${r.error.code ?? r.error.message}; install the Xcode Command Line Tools: xcode-select --install)` : 'swift build -c release failed (output above)';
    console.error(`build-metal: the Metal library was NOT built: ${why}; ferrum will use the CPU backend`);
    if (process.env.FERRUM_REQUIRE_METAL === '1') process.exit(1);
    return;
  }
  console.log(`build-metal: built ${relative(root, lib)} (swift build -c release) in ${secs}s`);
}
