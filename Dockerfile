# Placement in a container: a release build with every backend, run as
# an unprivileged user. Configure through the environment
# (OS_<GROUP>__<OPTION>) or a mounted /etc/placement/placement.conf; see
# docs/operations.md ("Container").
FROM rust:1-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpq-dev libmariadb-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p placement-server --features all-backends \
      --bin placement-api --bin placement-manage --bin placement-status --bin placement-policy

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpq5 libmariadb3 ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --user-group --home-dir /var/lib/placement --create-home --shell /usr/sbin/nologin placement
COPY --from=build /src/target/release/placement-api /src/target/release/placement-manage \
     /src/target/release/placement-status /src/target/release/placement-policy /usr/bin/
COPY etc/placement.conf /etc/placement/placement.conf
USER placement
WORKDIR /var/lib/placement
EXPOSE 8778
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s \
  CMD curl -fsS http://127.0.0.1:8778/healthcheck || exit 1
ENTRYPOINT ["/usr/bin/placement-api", "--host", "0.0.0.0", "--port", "8778"]
