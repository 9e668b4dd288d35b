#!/usr/bin/env bash
# Installs s3s-fs (an S3-compatible server in Rust serving a folder; the crate's `binary` feature),
# pinned, for the end-to-end benchmark: `cargo install` from crates.io into
# $BACKFILL_HARNESS_DIR/s3s-fs-<version> (by default <workspace>/.cache/harness/s3s-fs-<version>).
# Quick and silent when that version is already there. Not part of `make harness`: it compiles for
# about three minutes on two cores, and only `make bench` needs it.
set -euo pipefail

S3S_FS_VERSION="0.14.1" # the newest that builds on Rust 1.95 (0.15+ need 1.96); see s3_server.rs

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
dir="${BACKFILL_HARNESS_DIR:-.cache/harness}"
[[ "$dir" == /* ]] || dir="$root/$dir"
dest="$dir/s3s-fs-$S3S_FS_VERSION"

if [[ -x "$dest/bin/s3s-fs" ]] && "$dest/bin/s3s-fs" --version >/dev/null 2>&1; then
  exit 0
fi
echo "harness: cargo install s3s-fs $S3S_FS_VERSION into $dest (a few minutes)" >&2
# --locked: the crate's own lock file, so the same dependencies every time.
cargo install --quiet --locked --features binary --version "=$S3S_FS_VERSION" --root "$dest" s3s-fs
"$dest/bin/s3s-fs" --version >/dev/null
