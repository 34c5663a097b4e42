//! Verilator runner.
