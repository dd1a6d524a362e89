# syntax=docker/dockerfile:1
#
# The s3batchkit container image that runs a distributed plan's steps on
# AWS Batch or Kubernetes (docs/scale-out.md): one static binary, built
# with the pure-Go gzip decoder (no cgo, no ISA-L: nothing to link), on a
# distroless base that holds CA certificates, /tmp and a non-root user.
#
#   make image                       # docker build -t s3batchkit:dev .
#   docker build --platform linux/arm64 -t REGISTRY/s3batchkit:TAG .
#
# The image holds no credentials: the containers get theirs from the AWS
# Batch job role or the Kubernetes service account (IRSA, Pod Identity).

ARG GO_VERSION=1.26.8

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
WORKDIR /src
# GOTOOLCHAIN=local: build with this image's Go, never download another.
ENV CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=local
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG TARGETOS=linux
ARG TARGETARCH
# No build tags: the isal tag needs cgo. -buildvcs=false: .git is not in
# the build context (the REVISION label below says the commit instead).
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    GOOS=$TARGETOS GOARCH=$TARGETARCH go build -trimpath -buildvcs=false -ldflags='-s -w' \
        -o /out/s3batchkit ./cmd/s3batchkit

# static-debian12: CA certificates, tzdata, /etc/passwd and a /tmp that
# anyone may write (the sort spills there); :nonroot runs as 65532, the
# user the Kubernetes Jobs name (deploy.RunAsUser).
FROM gcr.io/distroless/static-debian12:nonroot
ARG REVISION=unknown
LABEL org.opencontainers.image.title="s3batchkit" \
      org.opencontainers.image.description="Plan, run and audit S3 Batch Operations over S3 Inventory reports" \
      org.opencontainers.image.source="https://github.com/s3batchkit/s3batchkit" \
      org.opencontainers.image.revision="${REVISION}"
COPY --from=build /out/s3batchkit /usr/local/bin/s3batchkit
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/s3batchkit"]
CMD ["--help"]
