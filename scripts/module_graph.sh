#!/usr/bin/env bash
# Lists which top-level modules of the crate import which (`crate::x` in src/, `avtal::x` in
# src/main.rs), comments left out and `#[cfg(test)]` code counted, and fails on a circle.
# The layers it keeps: config, db, domain, format, samples at the bottom; documents, notify,
# links above them; then registry; then the edges web, demo and main. See ARCHITECTURE.md.
# Then the same for the files of src/web/: the route table (mod.rs) on top, handlers, then the
# shared helpers (ui, auth, extract, error, state) at the bottom.
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

circles=0
graph=$(edges)
echo "$graph" | awk '{deps[$1] = deps[$1] " " $2} END {for (m in deps) print m " ->" deps[m]}' | sort
if ! echo "$graph" | tsort >/dev/null 2>/tmp/module_graph.$$; then
  echo "module circle among the crate's top-level modules:" >&2
  grep -v 'input contains a loop' /tmp/module_graph.$$ | sed -E 's/^tsort: //' >&2
  rm -f /tmp/module_graph.$$
  circles=1
else
  echo "no circles"
fi
rm -f /tmp/module_graph.$$

# The files of src/web/ form layers too (the route table on top, handlers, then shared helpers
# such as ui, auth, extract and error): `super::x` and `crate::web::x` between them, and a
# `mod.rs` to the files it declares, without circles.
web_module_exists() {
  [ -f "src/web/$1.rs" ] || [ -f "src/web/$1/mod.rs" ]
}

# The module a path from directory $1 of src/web/ names: `a::b` -> a/b or a, else the
# directory's own module.
web_resolve() {
  local dir=$1 first=$2 second=$3 prefix=""
  [ -n "$dir" ] && prefix="$dir/"
  if [ -n "$second" ] && web_module_exists "$prefix$first/$second"; then
    echo "$prefix$first/$second"
  elif web_module_exists "$prefix$first"; then
    echo "$prefix$first"
  else
    echo "${dir:-web}"
  fi
}

web_edges() {
  find src/web -name '*.rs' | sort | while read -r file; do
    local rel=${file#src/web/} module dir parent_dir
    rel=${rel%.rs}
    if [ "$(basename "$rel")" = mod ]; then
      dir=$(dirname "$rel"); [ "$dir" = . ] && dir=""
      module=${dir:-web}
      parent_dir=$(dirname "$dir"); [ "$parent_dir" = . ] && parent_dir=""
      sed -nE 's/^\s*(pub(\([a-z]+\))? )?mod ([a-z_]+);.*/\3/p' "$file" | while read -r child; do
        echo "$module ${dir:+$dir/}$child"
      done
    else
      module=$rel
      parent_dir=$(dirname "$rel"); [ "$parent_dir" = . ] && parent_dir=""
    fi
    sed -E 's,//.*$,,' "$file" |
      grep -oE '(super|crate::web)::(\{[^}]*\}|[A-Za-z_]+(::[a-z_]+)?)' |
      while read -r path; do
        local dir_of=$parent_dir
        case $path in crate::web::*) dir_of="" ;; esac
        local rest=${path#super::}
        rest=${rest#crate::web::}
        rest=${rest#\{}
        rest=${rest%\}}
        echo "$rest" | tr ',' '\n' | sed -E 's/^\s+//; s/\s+$//' | grep -v '^$' |
          while read -r item; do
            local first=${item%%::*} second=""
            [ "$item" != "$first" ] && second=$(echo "${item#*::}" | grep -oE '^[a-z_]+' || true)
            [ "$first" = self ] && continue
            local target
            target=$(web_resolve "$dir_of" "$first" "$second")
            [ "$target" != "$module" ] && echo "$module $target"
          done
      done
  done | sort -u
}

web_graph=$(web_edges)
echo "src/web:"
echo "$web_graph" | awk '{deps[$1] = deps[$1] " " $2} END {for (m in deps) print "  " m " ->" deps[m]}' | sort
if ! echo "$web_graph" | tsort >/dev/null 2>/tmp/module_graph.$$; then
  echo "module circle among the files of src/web/:" >&2
  grep -v 'input contains a loop' /tmp/module_graph.$$ | sed -E 's/^tsort: //' >&2
  circles=1
else
  echo "no circles in src/web"
fi
rm -f /tmp/module_graph.$$
exit "$circles"
