# codesign-gate as a container image, for GitLab CI, Jenkins and Linux jobs that prefer images.
# The binary is static (musl), the runtime is distroless: CA roots, no shell, user nonroot.
#
#   docker build -t codesign-gate .                  # from source (the default, last stage)
#   docker run --rm -v "$PWD:/work" -w /work codesign-gate run --artifacts 'dist/*' ...
#
# The release workflow builds the `release` stage instead, from the released binaries it has
# just checksummed and attested (--build-context bins=<dir>), so the image holds those same bytes.
# Bases are pinned by digest; update tag and digest together.

FROM rust:1-alpine@sha256:a10e64dd139b7387337c7fbe8aca31b959b57b2fd4c8ae20a02cf1d6ea424dce AS build
# The base is pinned by digest; Alpine drops superseded package versions, so a version pin
# here would only break the build later.
# hadolint ignore=DL3018
RUN apk add --no-cache musl-dev
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin codesign-gate \
 && install -m 0755 target/release/codesign-gate /codesign-gate \
 && /codesign-gate --version

FROM gcr.io/distroless/static-debian12:nonroot@sha256:d093aa3e30dbadd3efe1310db061a14da60299baff8450a17fe0ccc514a16639 AS release
ARG TARGETARCH
# `bins` is a named build context (docker buildx build --build-context bins=DIR), not a stage.
# hadolint ignore=DL3022
COPY --from=bins --chmod=0755 codesign-gate-${TARGETARCH} /usr/local/bin/codesign-gate
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/codesign-gate"]
CMD ["run"]

FROM gcr.io/distroless/static-debian12:nonroot@sha256:d093aa3e30dbadd3efe1310db061a14da60299baff8450a17fe0ccc514a16639
COPY --from=build /codesign-gate /usr/local/bin/codesign-gate
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/codesign-gate"]
CMD ["run"]
