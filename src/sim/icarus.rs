//! Icarus Verilog runner.
