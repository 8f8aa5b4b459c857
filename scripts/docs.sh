#!/usr/bin/env bash
# Builds the DocC documentation of OZGCore and Exporters into .build/docs/<Module> with the toolchain's docc.
set -euo pipefail
cd "$(dirname "$0")/.."
graphs=.build/symbol-graphs
mkdir -p "$graphs"  # kept between runs: an incremental build emits graphs only for modules it rebuilds
swift build -Xswiftc -emit-symbol-graph -Xswiftc -emit-symbol-graph-dir -Xswiftc "$PWD/$graphs"
mkdir -p .build/docs
for module in OZGCore Exporters; do
    mkdir -p "$graphs/$module"
    cp "$graphs/$module".symbols.json "$graphs/$module"/ 2>/dev/null || true
    cp "$graphs/$module"@*.symbols.json "$graphs/$module"/ 2>/dev/null || true
    docc convert "Sources/$module/$module.docc" --additional-symbol-graph-dir "$graphs/$module" \
        --output-path ".build/docs/$module" --fallback-display-name "$module" \
        --fallback-bundle-identifier "org.ozgtrack.$module" --analyze
done
echo "documentation in .build/docs/OZGCore and .build/docs/Exporters"
