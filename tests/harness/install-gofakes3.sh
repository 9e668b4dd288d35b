#!/usr/bin/env bash
# Installs gofakes3 (an S3-compatible server in Go; its `fs` backend serves a folder), pinned, for the
# end-to-end benchmark: `go install` of the module's command from the Go module proxy into
# $BACKFILL_HARNESS_DIR/gofakes3-<version> (by default <workspace>/.cache/harness/gofakes3-<version>).
# Quick and silent when that version is already there. Not part of `make harness`: only `make bench`
# needs it.
set -euo pipefail

GOFAKES3_VERSION="v1.2.0" # the newest the Go proxy serves; see s3_server.rs

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
dir="${BACKFILL_HARNESS_DIR:-.cache/harness}"
[[ "$dir" == /* ]] || dir="$root/$dir"
dest="$dir/gofakes3-$GOFAKES3_VERSION"

if [[ -x "$dest/bin/gofakes3" ]]; then
  exit 0
fi
command -v go >/dev/null || { echo "harness: gofakes3 needs the go command (Go 1.21+)" >&2; exit 1; }
echo "harness: go install gofakes3 $GOFAKES3_VERSION into $dest" >&2
# The module's own go.sum pins its dependencies; a private GOPATH keeps the build out of the user's.
GOBIN="$dest/bin" GOPATH="$dir/go-path" GOFLAGS=-modcacherw \
  go install "github.com/johannesboyne/gofakes3/cmd/gofakes3@$GOFAKES3_VERSION"
[[ -x "$dest/bin/gofakes3" ]]
