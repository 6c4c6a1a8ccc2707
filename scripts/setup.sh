#!/usr/bin/env bash
# scripts/setup.sh — prepare a Debian 12 machine to build and test the MCU.
#
# Run as root (or as a user with sudo) on a machine that has the Rust
# toolchain, gcc and Python. Idempotent: installs only what is missing, then
# builds mcu-mixer and FAILS if OpenH264 was compiled without its x86
# assembly (the openh264-sys2 build script silently falls back to plain C,
# ~3x slower, when `nasm` is missing).
#
# Usage: scripts/setup.sh [--no-install] [--no-build]
#   --no-install  only report missing packages, do not run apt-get
#   --no-build    skip the cargo build and the OpenH264 assembly check
# Honours CARGO_TARGET_DIR (and any cargo config) through `cargo metadata`.
set -euo pipefail

# ---------------------------------------------------------------------------
# System packages needed by the build, the tests and the benches.
# Add new ones here (e.g. browser tests: chromium chromium-driver).
SYSTEM_PACKAGES=(
    nasm        # OpenH264 x86 assembly (checked below)
    cmake       # builds the bundled libopus (opus crate)
    pkg-config  # locating system libraries
    libyuv-dev  # libyuv comparison bench
    ffmpeg      # ffprobe checks of output files in tests and the demo
    chromium chromium-driver  # headless browser end-to-end tests (tests/, mcu-e2e)
    postgresql  # the store's PostgreSQL back-end tests (each test run starts its own server on loopback)
)
# ---------------------------------------------------------------------------

INSTALL=1
BUILD=1
for arg in "$@"; do
    case "$arg" in
        --no-install) INSTALL=0 ;;
        --no-build) BUILD=0 ;;
        -h | --help)
            sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'
            exit 0
            ;;
        *)
            echo "setup.sh: unknown argument: $arg" >&2
            exit 2
            ;;
    esac
done

log() { printf '==> %s\n' "$*"; }
die() {
    printf 'setup.sh: ERROR: %s\n' "$*" >&2
    exit 1
}

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"

# --- 1. System packages -----------------------------------------------------
is_installed() {
    [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = "installed" ]
}

missing=()
for pkg in "${SYSTEM_PACKAGES[@]}"; do
    is_installed "$pkg" || missing+=("$pkg")
done

if [ "${#missing[@]}" -eq 0 ]; then
    log "system packages: all present (${SYSTEM_PACKAGES[*]})"
elif [ "$INSTALL" -eq 0 ]; then
    log "system packages missing (not installing, --no-install): ${missing[*]}"
else
    SUDO=()
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null || die "not root and sudo is not available"
        SUDO=(sudo)
    fi
    log "installing: ${missing[*]}"
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y --no-install-recommends "${missing[@]}"
fi

for tool in nasm cmake pkg-config ffprobe; do
    command -v "$tool" >/dev/null || log "warning: '$tool' is not on PATH"
done

[ "$BUILD" -eq 1 ] || exit 0

# --- 2. Build mcu-mixer and check OpenH264 was built with its assembly ------
command -v cargo >/dev/null || die "cargo is not on PATH (install the Rust toolchain first)"
command -v python3 >/dev/null || die "python3 is needed to read cargo's JSON output"

TARGET_DIR="$(cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
log "cargo target directory: $TARGET_DIR"

MESSAGES="$(mktemp)"
trap 'rm -f "$MESSAGES"' EXIT

# Builds mcu-mixer; leaves cargo's JSON messages in $MESSAGES and returns
# cargo's exit status. Cargo reports `build-script-executed` (with OUT_DIR)
# for every build script, including ones it did not re-run.
build_mixer() {
    log "cargo build -p mcu-mixer"
    cargo build -p mcu-mixer --message-format=json-render-diagnostics >"$MESSAGES"
}

# Prints the OUT_DIR of the openh264-sys2 build script used by this build.
openh264_out_dir() {
    python3 - "$MESSAGES" <<'EOF'
import json, sys
dirs = set()
for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
    try:
        msg = json.loads(line)
    except ValueError:
        continue
    pkg = msg.get("package_id", "")
    if msg.get("reason") == "build-script-executed" and ("openh264-sys2@" in pkg or "/openh264-sys2#" in pkg or pkg.startswith("openh264-sys2 ")):
        dirs.add(msg["out_dir"])
if len(dirs) != 1:
    sys.exit("expected one openh264-sys2 build script run, found %d" % len(dirs))
print(dirs.pop())
EOF
}

# Checks one openh264-sys2 build: no "not using any assembly" message in the
# build script's output, and each static library contains NASM objects
# (cc-compiled objects carry a 16-hex-digit hash prefix, nasm-rs ones don't).
# Prints the reason and returns 1 when the assembly is missing.
check_openh264_asm() {
    local out_dir="$1" build_dir output lib n
    build_dir="$(dirname "$out_dir")"
    output="$build_dir/output"
    [ -f "$output" ] || {
        echo "no build script output at $output"
        return 1
    }
    if grep -E "Failed to compile NASM files|NASM compilation disabled|No NASM configuration found" "$output"; then
        return 1
    fi
    command -v ar >/dev/null || {
        echo "'ar' (binutils) is missing: cannot inspect the OpenH264 libraries"
        return 1
    }
    for lib in common processing decoder encoder; do
        [ -f "$out_dir/libopenh264_$lib.a" ] || {
            echo "missing $out_dir/libopenh264_$lib.a"
            return 1
        }
        n="$(ar t "$out_dir/libopenh264_$lib.a" | grep -Evc '^[0-9a-f]{16}-' || true)"
        if [ "$n" -eq 0 ]; then
            echo "libopenh264_$lib.a contains no assembled (.asm) objects"
            return 1
        fi
        printf '    libopenh264_%s.a: %s assembly objects\n' "$lib" "$n"
    done
    return 0
}

build_status=0
build_mixer || build_status=$?
out_dir="$(openh264_out_dir)" || die "could not find the openh264-sys2 build in cargo's output (cargo exit $build_status)"
log "openh264-sys2 OUT_DIR: $out_dir"

if ! reason="$(check_openh264_asm "$out_dir")"; then
    echo "$reason" >&2
    command -v nasm >/dev/null ||
        die "OpenH264 was built WITHOUT its assembly and nasm is not on PATH: install nasm (apt-get install nasm) and re-run"
    # The build script emits rerun-if-env-changed lines only, so cargo never
    # re-runs it when nasm appears later: rebuild just this crate.
    log "OpenH264 was built without assembly while nasm was missing; rebuilding openh264-sys2"
    cargo clean -p openh264-sys2
    build_status=0
    build_mixer || build_status=$?
    out_dir="$(openh264_out_dir)" || die "could not find the openh264-sys2 build after the rebuild"
    reason="$(check_openh264_asm "$out_dir")" ||
        die "OpenH264 still built WITHOUT assembly after a rebuild: $reason"
fi
printf '%s\n' "$reason"
log "OpenH264 assembly: OK"

# --- 3. Stale C-only OpenH264 builds of other profiles ------------------------
# A release build (`cargo bench`, `cargo build --release`) made before nasm
# was installed keeps its C-only OpenH264 for good (cargo never re-runs that
# build script), and the benches then measure a codec ~3x slower. Drop such
# builds: the next build of that profile compiles the assembly.
for output in "$TARGET_DIR"/*/build/openh264-sys2-*/output; do
    [ -f "$output" ] || continue
    grep -qE "Failed to compile NASM files|NASM compilation disabled|No NASM configuration found" "$output" || continue
    profile_dir="$(basename "$(dirname "$(dirname "$(dirname "$output")")")")"
    [ "$profile_dir" != "debug" ] || continue # the dev build was checked above
    log "$profile_dir: OpenH264 was built without assembly; cleaning it for a rebuild"
    cargo clean --profile "$profile_dir" -p openh264-sys2
done

[ "$build_status" -eq 0 ] || die "cargo build -p mcu-mixer failed (exit $build_status); see the errors above"
log "setup complete"
