#!/usr/bin/env bash
# check-swift-build.sh DIR — the check itself, run by scripts/check-swift once
# the trixie chroot DIR (with swiftlang, /proc mounted) is ready.
#  1. the stand-in Metal module builds (swiftc -emit-module -emit-library)
#  2. native-shim/metal's Swift sources type-check against it (-typecheck)
#  3. ...and build into libferrum_metal.so
#  4. every function of ferrum_shim.h is a plain C export of that library
#  5. node + ffi-rs (this machine's, under trixie's loader) call it:
#     fr_abi_version() == 1; fr_device_open() == FR_E_DEVICE with a message
#     (the stand-in has no GPU); a bad handle gives FR_E_INVALID + message.
set -euo pipefail
DIR="$1"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
die() { echo "check-swift: $*" >&2; exit 1; }

REL="tmp/ferrum-check-$$"
W="$DIR/$REL"
trap 'rm -rf "$W"' EXIT
mkdir -p "$W/standin" "$W/shim" "$W/out"
cp "$ROOT"/native-shim/metal-standin/*.swift "$W/standin/"
cp "$ROOT"/native-shim/metal/Sources/ferrum_metal/*.swift "$W/shim/"

inchroot() { chroot "$DIR" /bin/sh -c "cd /$REL && $1" >"$W/log" 2>&1; }
step() { # name, command
  local t0=$SECONDS
  if ! inchroot "$2"; then
    cat "$W/log" >&2
    die "$1 failed (errors above)"
  fi
  grep -i "warning:" "$W/log" >&2 || true
  echo "check-swift: ok   $1 ($((SECONDS - t0)) s)"
}

step "stand-in Metal module builds" \
  "swiftc -module-name Metal -emit-module -emit-module-path out/Metal.swiftmodule -emit-library -o out/libMetal.so standin/*.swift"
step "shim type-checks against it" \
  "swiftc -module-name ferrum_metal -typecheck -I out shim/*.swift"
step "shim builds to libferrum_metal.so" \
  "swiftc -module-name ferrum_metal -O -emit-library -I out -L out -lMetal -o out/libferrum_metal.so shim/*.swift"

[ -z "${FERRUM_CHECK_SWIFT_KEEP:-}" ] || { mkdir -p "$FERRUM_CHECK_SWIFT_KEEP" && cp "$W"/out/*.so "$FERRUM_CHECK_SWIFT_KEEP/"; }

want=$(grep -oE '\bfr_[a-z0-9_]+\(' "$ROOT/native-shim/include/ferrum_shim.h" | tr -d '(' | sort -u)
have=$(nm -D --defined-only "$W/out/libferrum_metal.so" | awk '{print $3}' | sort -u)
missing=$(comm -23 <(echo "$want") <(echo "$have"))
[ -z "$missing" ] || die "libferrum_metal.so lacks C exports: $(echo $missing)"
echo "check-swift: ok   all $(echo "$want" | wc -l) functions of ferrum_shim.h are C exports"

cat > "$W/ffi.cjs" <<JS
const { open, define, DataType } = require(process.argv[2]);
open({ library: 'm', path: process.argv[3] });
const f = (r, p) => ({ library: 'm', retType: r, paramsType: p });
const L = define({
  fr_abi_version: f(DataType.I32, []),
  fr_last_error: f(DataType.String, []),
  fr_device_open: f(DataType.I32, [DataType.I32]),
  fr_buffer_new: f(DataType.I32, [DataType.I32, DataType.I64]),
});
const bad = (m) => { console.error('check-swift: ' + m); process.exit(1); };
const v = L.fr_abi_version([]);
if (v !== 1) bad('fr_abi_version() = ' + v + ', want 1');
const d = L.fr_device_open([0]);
const e1 = L.fr_last_error([]);
if (d !== -5 || !/no Metal device/.test(e1)) bad('fr_device_open() = ' + d + ' "' + e1 + '", want -5 (FR_E_DEVICE) and "no Metal device"');
const b = L.fr_buffer_new([42, 16]);
const e2 = L.fr_last_error([]);
if (b !== -1 || !/bad device handle 42/.test(e2)) bad('fr_buffer_new(42) = ' + b + ' "' + e2 + '", want -1 (FR_E_INVALID)');
console.log('check-swift: ok   node/ffi-rs -> Swift: fr_abi_version 1; fr_device_open ' + d + ' "' + e1 + '"');
JS
LIBS="$W/out:$DIR/usr/libexec/swift/lib/swift/linux:$DIR/lib/x86_64-linux-gnu:$DIR/usr/lib/x86_64-linux-gnu"
"$DIR/lib64/ld-linux-x86-64.so.2" --library-path "$LIBS" "$(command -v node)" "$W/ffi.cjs" \
  "$ROOT/node_modules/ffi-rs" "$W/out/libferrum_metal.so" || die "calling the Swift shim from node failed"

# 6. (when clang++ is here) the Swift shim runs the tiny fixture end to end:
#    stand-in Metal backed by the MSL emulator (FERRUM_STANDIN_EMU).
if [ "${FERRUM_CHECK_SWIFT_E2E:-1}" != 0 ] && command -v "${FERRUM_EMU_CXX:-clang++}" >/dev/null \
    && [ -f "$ROOT/dist/model/engine.js" ] && [ -f "$ROOT/build/native/libferrum_cpu-portable.so" ]; then
  node "$ROOT/scripts/build-metal-emu.mjs" >"$W/log" 2>&1 || { cat "$W/log" >&2; die "building the MSL emulator failed"; }
  FERRUM_METAL_LIB="$W/out/libferrum_metal.so" FERRUM_STANDIN_EMU="$ROOT/build/metal-emu/libferrum_metalemu.so" \
    "$DIR/lib64/ld-linux-x86-64.so.2" --library-path "$LIBS" "$(command -v node)" "$ROOT/scripts/check-swift-e2e.mjs" \
    || die "the fixture through the Swift shim (stand-in Metal over the MSL emulator) failed"
else
  echo "check-swift: skip e2e (needs clang++, npm run build and build/native; FERRUM_CHECK_SWIFT_E2E=0 skips it)"
fi
echo "check-swift: passed"
