# syntax=docker/dockerfile:1
# Faultline images: small static binaries on distroless, running as nonroot (65532).
#
#   docker build -t faultline .                   # all four programs (compose, k8s)
#   docker build --target infer -t faultline-infer .   # one program (edge pulls)
#   docker buildx build --platform linux/amd64,linux/arm64,linux/arm/v7 --target infer .
#
# One image with every binary is the default: one build, one tag to pin and roll back,
# and the programs always agree on the telemetry contract and model format. Per-program
# targets exist for gateways, where the pull over a thin link should be the daemon only.
ARG GO_VERSION=1.26

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
WORKDIR /src
# Modules first: this layer is reused until go.mod/go.sum change.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG TARGETOS=linux
ARG TARGETARCH=amd64
ARG TARGETVARIANT=""
# No cgo: static binaries that run on distroless/static and on any gateway libc.
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS="$TARGETOS" GOARCH="$TARGETARCH" GOARM="${TARGETVARIANT#v}" \
    go build -trimpath -ldflags='-s -w' -o /out/ ./cmd/simulate ./cmd/ingest ./cmd/train ./cmd/infer
# State directories owned by nonroot: a named volume mounted here starts with this
# ownership, so the services can write their spool, queue and models without root.
RUN mkdir -p /state/var/lib/faultline/spool /state/var/lib/faultline/queue /state/var/lib/faultline/models

FROM gcr.io/distroless/static-debian12:nonroot AS runtime
COPY --from=build --chown=65532:65532 /state/var/lib/faultline /var/lib/faultline
USER 65532:65532
WORKDIR /var/lib/faultline

FROM runtime AS simulate
COPY --from=build /out/simulate /usr/local/bin/simulate
ENTRYPOINT ["/usr/local/bin/simulate"]

FROM runtime AS ingest
COPY --from=build /out/ingest /usr/local/bin/ingest
EXPOSE 9101
ENTRYPOINT ["/usr/local/bin/ingest"]

FROM runtime AS train
COPY --from=build /out/train /usr/local/bin/train
ENTRYPOINT ["/usr/local/bin/train"]

FROM runtime AS infer
COPY --from=build /out/infer /usr/local/bin/infer
EXPOSE 9102
ENTRYPOINT ["/usr/local/bin/infer"]

# Default target (last): every program; choose one with the container command.
FROM runtime AS faultline
COPY --from=build /out/ /usr/local/bin/
EXPOSE 9101 9102
