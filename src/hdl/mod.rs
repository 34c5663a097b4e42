//! The embedded HDL: a run-time IR of modules, signals and registers, built by running Rust code,
//! and its Verilog emitter.
//!
//! ```
//! use vdx::hdl::{Design, ModuleBuilder, Reset};
//! let m = ModuleBuilder::new("vdx_acc");
//! let en = m.input("en_i", 1);
//! let x = m.input("x_i", 8);
//! let acc = m.reg("acc", 8, Reset::Zero);
//! m.next_when(&acc, &en, &acc.add(&x));
//! m.output("acc_o", &acc);
//! let module = m.finish().expect("a well-formed module");
//! let out = Design::single(&module).emit();
//! assert!(out.files[0].text.contains("acc_q <= acc_d;"));
//! ```
//!
//! # Streams
//! Valid/ready interfaces are declared as bundles ([`StreamType`], [`ModuleBuilder::sink`],
//! [`ModuleBuilder::source`]) and connected to instances by interface name; [`stream_register`]
//! and [`skid_buffer`] are the handshake primitives:
//!
//! ```
//! use vdx::hdl::{Design, ModuleBuilder, StreamConn, StreamType, skid_buffer};
//! let ty = StreamType::new(&[("data", 32), ("last", 1)]);
//! let skid = skid_buffer(&ty).unwrap();
//! let m = ModuleBuilder::new("vdx_pipe");
//! let input = m.sink("in", &ty); // in_valid_i, in_data_i[31:0], in_last_i
//! let out = m.source("out", &ty); // out_ready_i
//! let u = m.instance_streams(
//!     "u_skid",
//!     &skid,
//!     &[],
//!     &[("in", StreamConn::Feed(input.stream())), ("out", StreamConn::Ready(&out.ready()))],
//! );
//! input.drive_ready(&u.ready("in")); // in_ready_o
//! out.drive(&u.stream("out")); // out_valid_o, out_data_o[31:0], out_last_o
//! let top = m.finish().unwrap();
//! let names: Vec<String> = top.ports().iter().map(|p| p.name.clone()).collect();
//! assert_eq!(names[..3], ["clk_i", "rst_ni", "in_valid_i"]);
//! assert_eq!(Design::single(&top).emit().files.len(), 2);
//! ```
//!
//! # Black boxes
//! SRAM macros and existing Verilog are instantiated by name ([`BlackBox`]): no file is generated
//! for them and they keep the exact name given. A behavioural model built with the HDL is
//! emitted under that name for simulation only ([`Emitted::sim_models`]):
//!
//! ```
//! use vdx::hdl::{BlackBox, Design, ModuleBuilder};
//! let model = {
//!     let m = ModuleBuilder::new("vdx_sram_model");
//!     let (we, addr, wdata) = (m.input("we_i", 1), m.input("addr_i", 8), m.input("wdata_i", 32));
//!     let mem = m.memory("mem", 32, 256);
//!     mem.write(&we, &addr, &wdata);
//!     m.output("rdata_o", &mem.read(&we.not(), &addr));
//!     m.finish().unwrap()
//! };
//! let sram = BlackBox::new("sram_sp_256x32")
//!     .clock("clk_i")
//!     .reset_n("rst_ni")
//!     .input("we_i", 1)
//!     .input("addr_i", 8)
//!     .input("wdata_i", 32)
//!     .output("rdata_o", 32)
//!     .model(&model)
//!     .finish()
//!     .unwrap();
//! let m = ModuleBuilder::new("vdx_store");
//! let (we, addr, wdata) = (m.input("we_i", 1), m.input("addr_i", 8), m.input("wdata_i", 32));
//! let u = m.instance("u_sram", &sram, &[("we_i", &we), ("addr_i", &addr), ("wdata_i", &wdata)]);
//! m.output("rdata_o", &u.output("rdata_o"));
//! let out = Design::single(&m.finish().unwrap()).emit();
//! let top = &out.tops[0];
//! assert!(out.files[0].text.contains("  sram_sp_256x32 u_sram ("));
//! assert_eq!(top.files, [format!("{}.v", top.module)]); // synthesis: the top only
//! assert_eq!(top.sim_models, ["sram_sp_256x32.v"]); // simulation: plus the model
//! assert_eq!(out.sim_source(0).files.len(), 2);
//! ```

pub mod arith;
mod bits;
mod black_box;
mod builder;
mod emit;
mod files;
mod handshake;
pub mod names;
mod stream;
mod width;

pub use bits::{Bits, index_bits, value_bits};
pub use black_box::BlackBox;
pub use builder::{BuildIssue, Conn, HdlError, Instance, Memory, Module, ModuleBuilder, Reset, Signal, cat};
pub use emit::{
    Design, Emitted, EmittedTop, GENERATOR, HASH_DIGITS, HIER_BLOCK_MIN_INSTANCES, SIM_MODELS_DIR, SPDX_LINE,
};
pub use files::{SimSource, VERILATOR_CONTROL_SUFFIX, VerilogFile};
pub use handshake::{skid_buffer, stream_fifo, stream_register};
pub use stream::{Sink, Source, Stream, StreamConn, StreamPort, StreamType};
pub use width::{stream_downsizer, stream_upsizer};

/// Direction of a module port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PortDir {
    /// Driven from outside the module.
    Input,
    /// Driven by the module.
    Output,
}

/// A port as seen from outside a module.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PortSpec {
    /// Port name (`_i`/`_o` suffixed by convention).
    pub name: String,
    /// Direction.
    pub dir: PortDir,
    /// Width in bits, at least 1.
    pub width: u32,
    /// Whether the value is two's complement.
    pub signed: bool,
}

#[cfg(test)]
mod black_box_tests;
#[cfg(test)]
mod stream_tests;
#[cfg(test)]
mod tests;
