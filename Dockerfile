# syntax=docker/dockerfile:1
# Multi-stage build: compile with dev dependencies, ship only production ones, run as non-root.

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json prisma.config.ts tsconfig.json tsconfig.build.json ./
COPY prisma ./prisma
# postinstall generates the Prisma client into src/generated (needs the prisma CLI, a dev dependency)
RUN npm ci --no-audit --no-fund
COPY src ./src
RUN npm run build && npm prune --omit=dev --ignore-scripts

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    PORT=3000 \
    PGLITE_DIR=/app/data/pglite \
    MIGRATIONS_DIR=/app/prisma/migrations
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/prisma/migrations ./prisma/migrations
RUN mkdir -p /app/data && chown node:node /app/data
USER node
EXPOSE 3000
# Kubernetes probes: GET /live and GET /ready. Secrets come from the environment or mounted
# files (DIFY_API_KEY_FILE, DATABASE_URL_FILE), never from the image.
CMD ["node", "dist/main.js"]
