"""Builds a vdx die top with Icarus Verilog (cocotb 2 needs a newer Verilator than Debian's 5.006)
and runs csr_axil.py on it with cocotb.
Usage: run_csr.py DIE_FOLDER TOPLEVEL BUILD_DIR. Prints the path of the JUnit results file."""
import os
import sys

from cocotb_tools.runner import get_runner

folder, top, build = sys.argv[1:4]
files = [os.path.join(folder, f.strip()) for f in open(os.path.join(folder, "die.sim.f")) if f.strip()]
runner = get_runner("icarus")
runner.build(sources=files, hdl_toplevel=top, build_dir=build, timescale=("1ns", "1ps"))
results = runner.test(
    hdl_toplevel=top,
    test_module="csr_axil",
    test_dir=os.path.dirname(os.path.abspath(__file__)),
    build_dir=build,
    extra_env={"VDX_REGS": os.path.join(folder, "die.regs.json")},
    results_xml=os.path.abspath(os.path.join(build, "results.xml")),
)
print(results)
