//! Runners for the open tools that check and implement generated Verilog, each turning the tool's
//! console output into structured results and tables.
//!
//! The tools are always started with argument vectors ([`std::process::Command`]), never through
//! a shell, so file names are never re-interpreted; where a tool takes a script of its own (Yosys
//! `-p`), the runner rejects paths that the script language would split.

pub mod files;
pub mod formal;
pub mod lint;
pub mod synth;
