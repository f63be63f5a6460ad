#!/usr/bin/env bash
# The project's test command. It installs what the tests need when missing
# (Debian's Chromium for the browser tests, Debian's Node.js for the browser
# code's unit tests and its npm for e2e/package.json's packages: axe-core,
# which the browser tests inject to check accessibility, TypeScript, which
# compiles an example host page against adapter.d.ts, and the platform's SDKs,
# which tests run against the server; Debian's SIPp — package sip-tester — as
# the carrier and desk phone of the SIP tests, Debian's baresip-core as a
# softphone, Debian's postgresql, whose initdb and postgres the store's tests
# start a throwaway cluster with), then runs every check: formatting, vet,
# generated templ files up to date, no wildcard postMessage, the browser
# code's unit tests, the whole test suite with the race detector (browser and
# PostgreSQL tests included: none may skip for want of PostgreSQL), and a short
# run of every fuzz target over outside input.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
command -v sipp >/dev/null 2>&1 || missing+=(sip-tester)
command -v baresip >/dev/null 2>&1 || missing+=(baresip-core)
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
if [ ${#missing[@]} -gt 0 ]; then
  step "installing Debian's ${missing[*]} for the tests"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

step "go mod download"
go mod download

# e2e/package.json pins what the browser tests use (axe-core, TypeScript's
# compiler, ...): npm ci installs them when any is missing or not at its
# pinned version, and also when a file the tests read is missing.
npm_pinned() {
  (cd e2e && node -e '
    const fs = require("fs");
    const pinned = require("./package.json").devDependencies || {};
    const ok = Object.entries(pinned).every(([name, version]) => {
      try { return JSON.parse(fs.readFileSync(`node_modules/${name}/package.json`, "utf8")).version === version; }
      catch { return false; }
    });
    process.exit(ok ? 0 : 1);')
}
if ! npm_pinned || [ ! -f e2e/node_modules/axe-core/axe.min.js ] || [ ! -f e2e/node_modules/typescript/bin/tsc ]; then
  step "npm ci (e2e: the packages e2e/package-lock.json pins)"
  (cd e2e && npm ci --no-audit --no-fund)
fi

step "gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi

step "go vet"
go vet ./...

step "staticcheck"
# The module's own tool (go.mod's tool block), so every machine runs the
# same checks: the default set, which includes the style checks.
go tool staticcheck ./...

step "templ generate is up to date"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp web/templates/*.templ "$tmp"/
go tool templ generate -path "$tmp" >/dev/null 2>&1
for f in "$tmp"/*_templ.go; do
  if ! cmp -s "$f" "web/templates/$(basename "$f")"; then
    echo "web/templates/$(basename "$f") is stale: run 'go generate ./web/templates' and commit"; exit 1
  fi
done

step "no postMessage with target origin '*' in web/"
if grep -rnE "postMessage\([^)]*['\"]\*['\"]" web/; then
  echo "postMessage must name the exact origin"; exit 1
fi

step "node --test web/test"
# The widget's scripts are ES modules (web/package.json says so); their pure
# parts are tested here, outside the browser. The tests live outside
# web/static so they are neither embedded nor served.
node --test web/test/*.test.js

step "go test -race ./..."
# Tests talk only to loopback. Where the kernel lets us, they run in a network
# namespace of their own with nothing but lo, so no packet can leave the machine.
# Each test bounds its own waits; -timeout only catches a hung package, and
# go test's default (10m) is less than internal/server takes on a loaded
# two-core machine under the race detector. A test that needs PostgreSQL
# (internal/store/pgtest) fails instead of skipping when it cannot start one.
export CALLBRIDGE_REQUIRE_POSTGRES=1
if unshare -n true 2>/dev/null; then
  unshare -n sh -c 'ip link set lo up && exec go test -race -count=1 -timeout 45m "$@" ./...' sh "$@"
else
  go test -race -count=1 -timeout 45m "$@" ./...
fi

step "fuzzing (${FUZZTIME:=20000x} per target)"
# Each parser of outside input gets a short coverage-guided run; a crasher is
# kept under testdata/fuzz and then fails the normal tests until fixed. The
# budget is a count of inputs, not a duration: with a duration, Go 1.26's fuzz
# coordinator can report its own deadline as a failure on a busy machine
# (go.dev/issue/75804), and a count also does the same work however loaded.
fuzz_targets=$(grep -rl --include='*_test.go' '^func Fuzz' internal | xargs grep -ho '^func Fuzz[A-Za-z0-9_]*' | sed 's/^func //' | sort -u)
for target in $fuzz_targets; do
  pkg=./$(dirname "$(grep -rl --include='*_test.go' "^func $target(" internal | head -1)")
  echo "-- $pkg $target"
  if ! out=$(go test -run '^$' -fuzz "^$target\$" -fuzztime "$FUZZTIME" "$pkg" 2>&1); then
    printf '%s\n' "$out" | tail -n 40
    echo "fuzzing: $target failed" >&2
    exit 1
  fi
done
echo "fuzzing: no crashers"

step "govulncheck"
# Known vulnerabilities in the modules and the Go release we build with, for
# the code paths we really call. GOVULNDB may name a mirror (file:///path or
# https://...); the default is the Go vulnerability database.
vulndb=${GOVULNDB:-https://vuln.go.dev}
case "$vulndb" in
  http*) reachable() { curl -sf --max-time 10 -o /dev/null "$vulndb/index/db.json.gz"; } ;;
  *) reachable() { true; } ;;
esac
if reachable; then
  go tool govulncheck -db "$vulndb" ./...
else
  echo "govulncheck: NOT CHECKED: the vulnerability database $vulndb cannot be reached from this machine" >&2
fi
