# vdx: the README's two commands are `make demo` and `make test`.
CARGO ?= cargo
# Verilator models are cached by a hash of their Verilog; one cache per checkout.
export VDX_CACHE_DIR ?= $(CURDIR)/target/vdx-cache
VDX := target/release/vdx

.PHONY: setup build demo lint test bench-cosim bench-sgu qor-sgu bench-systolic qor-systolic clean

setup:
	@scripts/setup.sh

build:
	$(CARGO) build --release

# Generates the default dies and co-simulates every available block of them against its golden
# model (20,000 cycles each: the 128x128 array's model build is most of the time).
demo: setup build
	$(VDX) gen
	$(VDX) sim --cycles 20000

# Verilator -Wall and the Yosys check on every module of the default dies.
lint: setup build
	$(VDX) gen
	$(VDX) lint rtl_out/vdx1

test: setup
	$(CARGO) test --release

bench-cosim: setup build
	$(VDX) bench cosim

# SGU: statistics of 10^8 golden samples, then a 256-lane co-simulation with throughput.
bench-sgu: setup build
	$(VDX) bench sgu-stats
	$(VDX) bench sgu

# Area and timing of one SGU lane on the OSU 0.18 um cells (Yosys + OpenSTA).
qor-sgu: setup build
	$(VDX) synth --block sgu --set lanes=1 --top vdx_sgu_pair --out rtl_out/qor/sgu_pair

# Systolic array: random GEMMs on 32x32 under backpressure, utilization against shape.
bench-systolic: setup build
	$(VDX) bench systolic

# Area of one PE against its parts and its critical path, for three precisions.
qor-systolic: setup
	$(CARGO) test --release --test systolic_qor -- --nocapture

clean:
	$(CARGO) clean
	rm -rf rtl_out vdx-vcd
