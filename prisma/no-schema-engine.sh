#!/bin/sh
# Prisma 7's CLI insists on a schema-engine binary even for `generate`, which runs on WASM.
# The engine cannot be downloaded here, so this stub stands in; migrations are plain SQL
# applied by src/database/migrate.ts.
echo "schema engine not available: migrations are applied by the gateway at start" >&2
exit 1
