# vdx: the README's two commands are `make demo` and `make test`.
CARGO ?= cargo
# Verilator models are cached by a hash of their Verilog; one cache per checkout.
export VDX_CACHE_DIR ?= $(CURDIR)/target/vdx-cache
VDX := target/release/vdx

.PHONY: setup build demo test bench-cosim clean

setup:
	@scripts/setup.sh

build:
	$(CARGO) build --release

demo: setup build
	$(VDX) gen
	$(VDX) lint rtl_out/vdx1
	$(VDX) sim

test: setup
	$(CARGO) test --release

bench-cosim: setup build
	$(VDX) bench cosim

clean:
	$(CARGO) clean
	rm -rf rtl_out vdx-vcd
