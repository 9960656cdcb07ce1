# syntax=docker/dockerfile:1
# One build, one slim image per service, chosen by target:
#   docker build --target router -t agora-router .
# Targets: router, identity, profiles, content, social, media, messaging, migrate.
# compose.yaml builds them all.

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bins \
 && mkdir /out \
 && cp target/release/agora target/release/agora-router \
       target/release/agora-identity target/release/agora-profiles \
       target/release/agora-content target/release/agora-social \
       target/release/agora-media target/release/agora-messaging /out/

# What every image shares: no compilers, a non-root user, curl for the health check.
FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --create-home --home-dir /var/lib/agora agora
USER agora
WORKDIR /var/lib/agora
ENV AGORA_DATA_DIR=/var/lib/agora

FROM runtime AS router
COPY --from=build /out/agora-router /usr/local/bin/
COPY supergraph.graphql /etc/agora/supergraph.graphql
EXPOSE 4000
HEALTHCHECK --interval=10s --timeout=3s CMD curl -fsS http://127.0.0.1:4000/health || exit 1
ENTRYPOINT ["agora-router", "--supergraph", "/etc/agora/supergraph.graphql", "--listen", "0.0.0.0:4000"]

FROM runtime AS identity
COPY --from=build /out/agora-identity /usr/local/bin/
ENV AGORA_IDENTITY_ADDR=0.0.0.0:4001
EXPOSE 4001
HEALTHCHECK --interval=10s --timeout=3s CMD curl -fsS http://127.0.0.1:4001/ready || exit 1
ENTRYPOINT ["agora-identity"]

FROM runtime AS profiles
COPY --from=build /out/agora-profiles /usr/local/bin/
ENV AGORA_PROFILES_ADDR=0.0.0.0:4002
EXPOSE 4002
HEALTHCHECK --interval=10s --timeout=3s CMD curl -fsS http://127.0.0.1:4002/ready || exit 1
ENTRYPOINT ["agora-profiles"]

FROM runtime AS content
COPY --from=build /out/agora-content /usr/local/bin/
ENV AGORA_CONTENT_ADDR=0.0.0.0:4003
EXPOSE 4003
HEALTHCHECK --interval=10s --timeout=3s CMD curl -fsS http://127.0.0.1:4003/ready || exit 1
ENTRYPOINT ["agora-content"]

FROM runtime AS social
COPY --from=build /out/agora-social /usr/local/bin/
ENV AGORA_SOCIAL_ADDR=0.0.0.0:4004
EXPOSE 4004
HEALTHCHECK --interval=10s --timeout=3s CMD curl -fsS http://127.0.0.1:4004/ready || exit 1
ENTRYPOINT ["agora-social"]

FROM runtime AS media
COPY --from=build /out/agora-media /usr/local/bin/
RUN mkdir -p /var/lib/agora/media
ENV AGORA_MEDIA_ADDR=0.0.0.0:4005
EXPOSE 4005
HEALTHCHECK --interval=10s --timeout=3s CMD curl -fsS http://127.0.0.1:4005/ready || exit 1
ENTRYPOINT ["agora-media"]

FROM runtime AS messaging
COPY --from=build /out/agora-messaging /usr/local/bin/
ENV AGORA_MESSAGING_ADDR=0.0.0.0:4006
EXPOSE 4006
HEALTHCHECK --interval=10s --timeout=3s CMD curl -fsS http://127.0.0.1:4006/ready || exit 1
ENTRYPOINT ["agora-messaging"]

# The deployment step before new versions start: every subgraph's migrations.
FROM runtime AS migrate
COPY --from=build /out/agora /usr/local/bin/
ENTRYPOINT ["agora", "migrate"]
