//! vdx: a Rust-embedded HDL and generator of synthesizable Verilog for the VDX-1 video-diffusion
//! accelerator, with Verilator/Icarus co-simulation against bit-exact Rust golden models.

#![warn(missing_docs)]

pub mod blocks;
pub mod config;
pub mod die;
pub mod estimate;
pub mod flows;
pub mod generate;
pub mod hdl;
pub mod sim;
pub mod sweep;
