#!/usr/bin/env bash
# Lists which top-level modules of the crate import which (`crate::x` in src/, `avtal::x` in
# src/main.rs), comments left out and `#[cfg(test)]` code counted, and fails on a circle.
# The layers it keeps: config, db, domain, format, samples at the bottom; documents, notify,
# links above them; then registry; then the edges web, demo and main. See ARCHITECTURE.md.
set -euo pipefail
cd "$(dirname "$0")/.."

edges() {
  for path in src/*.rs src/*/; do
    local module
    module=$(basename "${path%/}" .rs)
    [ "$module" = lib ] && continue
    local -a files
    if [ -d "$path" ]; then
      mapfile -t files < <(find "$path" -name '*.rs' | sort)
    else
      files=("$path")
    fi
    sed -E 's,//.*$,,' "${files[@]}" |
      grep -oE '\b(crate|avtal)::[a-z_]+' |
      sed -E 's/^(crate|avtal):://' |
      sort -u |
      while read -r dep; do
        if [ "$dep" != "$module" ] && { [ -f "src/$dep.rs" ] || [ -d "src/$dep" ]; }; then
          echo "$module $dep"
        fi
      done
  done | sort -u
}

graph=$(edges)
echo "$graph" | awk '{deps[$1] = deps[$1] " " $2} END {for (m in deps) print m " ->" deps[m]}' | sort
if ! echo "$graph" | tsort >/dev/null 2>/tmp/module_graph.$$; then
  echo "module circle among the crate's top-level modules:" >&2
  grep -v 'input contains a loop' /tmp/module_graph.$$ | sed -E 's/^tsort: //' >&2
  rm -f /tmp/module_graph.$$
  exit 1
fi
rm -f /tmp/module_graph.$$
echo "no circles"
