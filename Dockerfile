# A container build of the gate, for Linux runners and other CI systems.
# Windows runners (signtool) use the composite action in action.yml instead.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin codesign-gate

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/codesign-gate /usr/local/bin/codesign-gate
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/codesign-gate"]
CMD ["run"]
