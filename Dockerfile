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
# The addon through npm (its "install" script): npm puts its own node-gyp on PATH for scripts.
RUN npm run build && npm run install && npm prune --omit=dev

FROM node:20-bookworm-slim
# The kernel engine runs nft and conntrack (and sysctl, from procps); iproute2 for the operator.
# File capabilities let the non-root user do what OpenSLB needs without root:
#   node   CAP_NET_BIND_SERVICE  listener ports below 1024. Nothing else: a binary whose file
#          capabilities the container may not grant cannot be started at all (EPERM), and
#          Docker grants this one by default.
#   nft, conntrack  CAP_NET_ADMIN  the kernel engine's table and flows. Run by node, they get
#          no capability from it; their own file capability gives them this one where the
#          container has it (docker run --cap-add NET_ADMIN). Without it they cannot start,
#          OpenSLB's probe says so in its log and plain TCP/UDP listeners run in user space.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nftables conntrack procps iproute2 libcap2-bin \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system openslb && useradd --system --gid openslb --home-dir /var/lib/openslb --create-home openslb \
 && setcap cap_net_bind_service+ep "$(readlink -f "$(command -v node)")" \
 && setcap cap_net_admin+ep "$(readlink -f "$(command -v nft)")" \
 && setcap cap_net_admin+ep "$(readlink -f "$(command -v conntrack)")"
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
