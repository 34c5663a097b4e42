//! SRAM macros as black boxes: the weight SRAM (one read/write port, read-mostly) and the
//! activation scratchpad (one write port and one read port), each with a behavioural model for
//! simulation.
//!
//! A macro is named after its shape, `vdx_sram_1rw_<depth>x<width>` or
//! `vdx_sram_1r1w_<depth>x<width>`, so the same shape has the same name in every run and two
//! shapes never share one; the name is what a memory compiler's macro (or a wrapper around
//! several banks of it) must be called, with these ports. Synthesis filelists leave the macros
//! out; simulators get the models (under `sim_models/`).
//!
//! | macro | ports |
//! |---|---|
//! | `1rw` | `clk_i`, `rst_ni`, `en_i`, `we_i`, `addr_i[a]`, `wdata_i[w]`, `rdata_o[w]` |
//! | `1r1w` | `clk_i`, `rst_ni`, `we_i`, `waddr_i[a]`, `wdata_i[w]`, `re_i`, `raddr_i[a]`, `rdata_o[w]` |
//!
//! Reads are synchronous: `rdata_o` shows the word one cycle after the enable and holds it until
//! the next read. `rst_ni` only clears the read-data register (the array has no reset). A
//! `1r1w` read of the word written in the same cycle returns the old word. The model's array
//! has the next power-of-two depth at or above `depth` (an address beyond `depth` is the user's
//! error and reads whatever is there).

use crate::hdl::{BlackBox, HdlError, Module, ModuleBuilder, index_bits};

/// The shape of one SRAM macro.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct SramShape {
    /// Words.
    pub depth: u64,
    /// Bits per word.
    pub width: u32,
    /// Two ports (one write, one read) rather than one read/write port.
    pub dual: bool,
}

impl SramShape {
    /// Bits stored.
    pub fn bits(&self) -> u64 {
        self.depth * u64::from(self.width)
    }

    /// Address bits.
    pub fn addr_bits(&self) -> u32 {
        index_bits(self.depth)
    }

    /// The macro's name.
    pub fn name(&self) -> String {
        format!("vdx_sram_{}_{}x{}", if self.dual { "1r1w" } else { "1rw" }, self.depth, self.width)
    }

    /// The black box with its behavioural model.
    pub fn black_box(&self) -> Result<Module, HdlError> {
        let (a, w) = (self.addr_bits(), self.width);
        let name = self.name();
        let model = ModuleBuilder::new(&name);
        model
            .block("sram")
            .param("depth", self.depth)
            .param("width", w)
            .param("ports", if self.dual { "1r1w" } else { "1rw" });
        let mem = model.memory("mem", w, self.depth.next_power_of_two());
        let bb = BlackBox::new(&name).clock("clk_i").reset_n("rst_ni");
        let bb = if self.dual {
            let we = model.input("we_i", 1);
            let waddr = model.input("waddr_i", a);
            let wdata = model.input("wdata_i", w);
            let re = model.input("re_i", 1);
            let raddr = model.input("raddr_i", a);
            mem.write(&we, &waddr.resize(mem.addr_width()), &wdata);
            model.output("rdata_o", &mem.read(&re, &raddr.resize(mem.addr_width())));
            bb.input("we_i", 1).input("waddr_i", a).input("wdata_i", w).input("re_i", 1).input("raddr_i", a)
        } else {
            let en = model.input("en_i", 1);
            let we = model.input("we_i", 1);
            let addr = model.input("addr_i", a).resize(mem.addr_width());
            let wdata = model.input("wdata_i", w);
            mem.write(&en.and(&we).named("write"), &addr, &wdata);
            model.output("rdata_o", &mem.read(&en.and(&we.not()).named("read"), &addr));
            bb.input("en_i", 1).input("we_i", 1).input("addr_i", a).input("wdata_i", w)
        };
        bb.output("rdata_o", w).model(&model.finish()?).finish()
    }
}
