#!/usr/bin/env bash
# Installs the simulators, lint and synthesis tools vdx needs, if they are missing (Debian/Ubuntu, apt).
set -euo pipefail
packages=()
for pair in verilator:verilator yosys:yosys iverilog:iverilog sta:opensta; do
  tool=${pair%%:*}
  package=${pair#*:}
  command -v "$tool" >/dev/null 2>&1 || packages+=("$package")
done
# The OSU 0.18 um standard cells that `vdx synth` maps onto.
[ -f /usr/share/qflow/tech/osu018/osu018_stdcells.lib ] || packages+=(qflow-tech-osu018)
if [ ${#packages[@]} -eq 0 ]; then
  exit 0
fi
echo "setup: installing ${packages[*]}"
if [ "$(id -u)" -eq 0 ]; then
  apt=(apt-get)
elif command -v sudo >/dev/null 2>&1; then
  apt=(sudo apt-get)
else
  echo "setup: missing ${packages[*]}; install them with: apt-get install ${packages[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${apt[@]}" update -qq
"${apt[@]}" install -y -qq "${packages[@]}" >/dev/null
