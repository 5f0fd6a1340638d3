# OpenSLB in a container: a build stage compiles TypeScript, better-sqlite3 and the TCP_MAXSEG
# addon; the runtime stage carries only the production dependencies and runs as a non-root
# user. See README "Running as a service" for the docker run line.
FROM node:20-bookworm AS build
WORKDIR /src
# Dependencies first, so a source change does not reinstall them. --ignore-scripts here: the
# package's own install/prepare steps need the sources copied below.
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts && npm rebuild better-sqlite3
COPY tsconfig.json binding.gyp ./
COPY native ./native
COPY scripts/build-addon.mjs scripts/build-console-ui.ts ./scripts/
COPY src ./src
RUN npm run build && node scripts/build-addon.mjs && npm prune --omit=dev

FROM node:20-bookworm-slim
# nftables and iproute2 for the kernel data plane. setcap lets the non-root user bind listener
# ports below 1024 (CAP_NET_BIND_SERVICE) and manage the kernel engine's nftables tables and
# routes (CAP_NET_ADMIN, CAP_NET_RAW). They take effect only where the container is given them:
# docker run --cap-add NET_ADMIN (the other two are in Docker's default set).
RUN apt-get update \
 && apt-get install -y --no-install-recommends nftables iproute2 libcap2-bin \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system openslb && useradd --system --gid openslb --home-dir /var/lib/openslb --create-home openslb \
 && setcap cap_net_bind_service,cap_net_admin,cap_net_raw+ep "$(readlink -f "$(command -v node)")"
WORKDIR /opt/openslb
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY --from=build /src/build/Release/tcp_sockopt.node ./build/Release/
COPY LICENSE README.md ./
USER openslb
VOLUME /var/lib/openslb
# The API and the admin listener (/metrics, /healthz) on every interface of the container.
EXPOSE 8080 8081
ENTRYPOINT ["node", "/opt/openslb/dist/cli/main.js"]
CMD ["serve", "--data-dir", "/var/lib/openslb", "--api-listen", "0.0.0.0:8080", "--admin-listen", "0.0.0.0:8081"]
