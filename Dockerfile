# syntax=docker/dockerfile:1
#
# The worker image: backfill-worker, the ECS Fargate task. The task runs on ARM64 (Graviton):
#
#   make image                                                  # linux/arm64, tag backfill-worker
#   docker build --platform linux/arm64 -t backfill-worker .
#   docker build --platform linux/amd64 -t backfill-worker .    # for an X86_64 task
#
# (Without --platform, docker builds for the machine it runs on.)
#
# The build stage runs on the build machine's own platform and cross-compiles to the image's, so
# an arm64 image builds at native speed on an x86 machine (no emulation). Cargo's registry and
# target directory are BuildKit cache mounts: after a change to the sources only the workspace's
# own crates are compiled again. The build context is what .dockerignore lets in: the workspace
# manifests and lock file, the members' sources, and infra/stop.asl.json (compiled into core).
#
# The image holds the binary and nothing else on distroless cc (glibc, libgcc and the CA
# certificates that the target client trusts), running as the unprivileged user `nonroot`. No
# configuration or secret is baked in: the task definition sets the environment and the task role
# gives the credentials.

ARG RUST_IMAGE=rust:1-bookworm
ARG RUNTIME_IMAGE=gcr.io/distroless/cc-debian12:nonroot

FROM --platform=$BUILDPLATFORM ${RUST_IMAGE} AS build
ARG TARGETARCH

# The target's Rust standard library and, when the image's architecture is not the build
# machine's, a C cross compiler and libc (the linker, and aws-lc-sys's C sources).
RUN set -eux; \
    case "$TARGETARCH" in \
      arm64) triple=aarch64-unknown-linux-gnu; gcc=gcc-aarch64-linux-gnu ;; \
      amd64) triple=x86_64-unknown-linux-gnu; gcc=gcc-x86-64-linux-gnu ;; \
      *) echo "no worker build for architecture '$TARGETARCH' (arm64 or amd64)" >&2; exit 1 ;; \
    esac; \
    if [ "$(dpkg --print-architecture)" != "$TARGETARCH" ]; then \
      apt-get update; \
      apt-get install -y --no-install-recommends "$gcc" "libc6-dev-$TARGETARCH-cross"; \
      rm -rf /var/lib/apt/lists/*; \
    fi; \
    rustup target add "$triple"; \
    echo "$triple" > /rust-target

# The C compiler and linker per target; on the native architecture these are the system gcc.
ENV CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc \
    CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc \
    AR_aarch64_unknown_linux_gnu=aarch64-linux-gnu-ar \
    CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER=x86_64-linux-gnu-gcc \
    CC_x86_64_unknown_linux_gnu=x86_64-linux-gnu-gcc \
    AR_x86_64_unknown_linux_gnu=x86_64-linux-gnu-ar \
    CARGO_TERM_COLOR=never

WORKDIR /src
# Every member's manifest must be there for cargo to load the workspace, even the ones that are
# not built (the test harness and the fault proxy).
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/usr/local/cargo/git,sharing=locked \
    --mount=type=cache,target=/src/target,sharing=locked \
    set -eux; \
    triple="$(cat /rust-target)"; \
    cargo build --release --locked -p backfill-worker --target "$triple"; \
    cp "target/$triple/release/backfill-worker" /backfill-worker

FROM ${RUNTIME_IMAGE}
LABEL org.opencontainers.image.title="backfill-worker" \
      org.opencontainers.image.description="Backfill from snapshot: the worker (ECS task) that moves shards of an Elasticsearch/OpenSearch snapshot in S3 into a target OpenSearch cluster" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /backfill-worker /backfill-worker
USER nonroot:nonroot
# Writable by nonroot: failed-documents reports go here when BACKFILL_REPORTS is not an s3:// URI.
WORKDIR /home/nonroot
ENTRYPOINT ["/backfill-worker"]
