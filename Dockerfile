# callscreen daemon image. Build: docker build -t callscreen .
# Run:  docker run -d --name callscreen --network host \
#         -v /etc/callscreen:/etc/callscreen:ro \
#         -e CALLSCREEN_ARI_PASSWORD=... callscreen
# The configuration (callscreen.yaml, rules.yaml) is mounted from outside at /etc/callscreen.

FROM node:22-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts=false
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npx tsc -p tsconfig.build.json && npm prune --omit=dev

FROM node:22-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
COPY bin ./bin
COPY console ./console
COPY config /etc/callscreen
COPY dialplan ./dialplan
USER node
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "/app/bin/callscreen.js"]
CMD ["run", "--config", "/etc/callscreen/callscreen.yaml"]
