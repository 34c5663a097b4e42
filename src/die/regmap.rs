//! A die's register map: values a host reads and writes over the CSR bus, laid out in 32-bit
//! registers, and the three files that describe it to people and tools: SystemRDL
//! ([`RegMap::systemrdl`], the standard source format, compiled by PeakRDL in the tests), a
//! Markdown table ([`RegMap::markdown`]) and a C header ([`RegMap::c_header`]).
//!
//! A *value* is one named quantity of up to 64 × 32 bits; a value wider than 32 bits takes
//! consecutive registers `<name>_0`, `<name>_1`, … holding bits 31:0, 63:32, …. Values are grouped
//! per die part (a block instance, a DMA channel, the switch); each group starts on a 256-byte
//! boundary (or a larger power of two when it needs more), so adding a register to one group
//! moves no other group's offsets.

use std::fmt::Write;

/// What the host may do with a value and what the hardware does with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    /// Read/write; the hardware sees the stored value.
    Rw,
    /// Read-only; the hardware drives it.
    Ro,
    /// Write 1 to pulse: each written 1 bit is high for the one cycle after the write; reads 0.
    Pulse,
    /// Sticky flags: the hardware sets bits, the host clears them by writing 1 (write 1 to clear).
    W1c,
}

impl Access {
    fn rdl(self) -> &'static str {
        match self {
            Access::Rw => "sw = rw; hw = r;",
            Access::Ro => "sw = r; hw = w;",
            Access::Pulse => "sw = w; hw = r; singlepulse;",
            Access::W1c => "sw = rw; hw = w; onwrite = woclr; hwset;",
        }
    }

    /// Short name used in the Markdown table and the manifest.
    pub fn name(self) -> &'static str {
        match self {
            Access::Rw => "rw",
            Access::Ro => "ro",
            Access::Pulse => "pulse",
            Access::W1c => "w1c",
        }
    }
}

/// One value of the map.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Value {
    /// Name, unique in the map (a lower-case identifier): `<group>_<what>`.
    pub name: String,
    /// Bits (1..=2048).
    pub width: u32,
    /// Access.
    pub access: Access,
    /// Reset value (the low 64 bits; wider values reset to zero above them).
    pub reset: u64,
    /// What it is, one sentence.
    pub doc: String,
    /// Byte offset of its first register.
    pub offset: u32,
}

impl Value {
    /// Registers it takes.
    pub fn registers(&self) -> u32 {
        self.width.div_ceil(32)
    }

    /// `(register name, offset, bits in this register, reset of this register)` per register.
    pub fn parts(&self) -> Vec<(String, u32, u32, u64)> {
        let n = self.registers();
        (0..n)
            .map(|i| {
                let name = if n == 1 { self.name.clone() } else { format!("{}_{i}", self.name) };
                let bits = (self.width - 32 * i).min(32);
                let reset = if i < 2 { (self.reset >> (32 * i)) & 0xffff_ffff } else { 0 };
                (name, self.offset + 4 * i, bits, reset)
            })
            .collect()
    }
}

/// A group of values (one die part).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Group {
    /// Name (the part's instance name).
    pub name: String,
    /// What the part is.
    pub doc: String,
    /// First byte offset.
    pub base: u32,
    /// Values, in offset order.
    pub values: Vec<Value>,
}

/// The register map of one die.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RegMap {
    /// Map name (the die top's base name, e.g. `vdx_tiny_compute0`).
    pub name: String,
    /// Bits of the bus address.
    pub addr_bits: u32,
    /// Groups in offset order.
    pub groups: Vec<Group>,
    /// Named numbers a register takes (switch source numbers): `(name, value, meaning)`.
    pub constants: Vec<(String, u64, String)>,
}

/// Smallest group alignment in bytes.
pub const GROUP_ALIGN: u32 = 0x100;

impl RegMap {
    /// An empty map for a bus of `addr_bits` address bits.
    pub fn new(name: &str, addr_bits: u32) -> Self {
        RegMap { name: name.to_string(), addr_bits, groups: Vec::new(), constants: Vec::new() }
    }

    /// Opens a group; the following [`Self::value`] calls land in it.
    pub fn group(&mut self, name: &str, doc: &str) {
        let end = self.end();
        let base = end.div_ceil(GROUP_ALIGN) * GROUP_ALIGN;
        self.groups.push(Group { name: name.to_string(), doc: doc.to_string(), base, values: Vec::new() });
    }

    /// First free byte offset.
    fn end(&self) -> u32 {
        self.groups
            .last()
            .map(|g| g.values.last().map(|v| v.offset + 4 * v.registers()).unwrap_or(g.base))
            .unwrap_or(0)
    }

    /// Adds value `<group>_<what>` to the open group and returns its full name.
    pub fn value(&mut self, what: &str, width: u32, access: Access, reset: u64, doc: &str) -> String {
        let offset = self.end();
        let group = self.groups.last_mut().unwrap_or_else(|| unreachable!("a group is opened first"));
        let name = format!("{}_{what}", group.name);
        group.values.push(Value { name: name.clone(), width, access, reset, doc: doc.to_string(), offset });
        name
    }

    /// Aligns every group to the power of two its size needs (at least [`GROUP_ALIGN`]), in
    /// order; call once all values are in.
    /// Groups without values (a die-edge block's) are dropped.
    pub fn align_groups(&mut self) {
        self.groups.retain(|g| !g.values.is_empty());
        let mut next = 0u32;
        for g in &mut self.groups {
            let size = g.values.last().map(|v| v.offset + 4 * v.registers() - g.base).unwrap_or(0);
            let align = size.max(GROUP_ALIGN).next_power_of_two();
            let base = next.div_ceil(align) * align;
            let shift = base as i64 - g.base as i64;
            g.base = base;
            for v in &mut g.values {
                v.offset = (v.offset as i64 + shift) as u32;
            }
            next = base + size;
        }
    }

    /// Every value, in offset order.
    pub fn values(&self) -> impl Iterator<Item = &Value> {
        self.groups.iter().flat_map(|g| g.values.iter())
    }

    /// The value called `name`.
    pub fn find(&self, name: &str) -> Option<&Value> {
        self.values().find(|v| v.name == name)
    }

    /// Bytes the map spans.
    pub fn span(&self) -> u32 {
        self.end()
    }

    /// SystemRDL 2.0 source: one `addrmap` with a `regfile` per group and a 32-bit `reg` of one
    /// field per register.
    pub fn systemrdl(&self, generator: &str) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "// {generator}: register map of {}; generated, do not edit", self.name);
        let _ = writeln!(s, "addrmap {} {{", self.name);
        let _ = writeln!(s, "    name = \"{}\";", self.name);
        let _ = writeln!(s, "    default regwidth = 32;");
        let _ = writeln!(s, "    default accesswidth = 32;");
        for g in &self.groups {
            let _ = writeln!(s, "    regfile {{");
            let _ = writeln!(s, "        desc = \"{}\";", rdl_text(&g.doc));
            for v in &g.values {
                for (reg, offset, bits, reset) in v.parts() {
                    let _ = writeln!(s, "        reg {{");
                    let _ = writeln!(s, "            desc = \"{}\";", rdl_text(&v.doc));
                    let _ = writeln!(
                        s,
                        "            field {{ {} }} value[{}:0] = {reset:#x};",
                        v.access.rdl(),
                        bits - 1
                    );
                    let _ = writeln!(s, "        }} {reg} @ {:#x};", offset - g.base);
                }
            }
            let _ = writeln!(s, "    }} {} @ {:#x};", g.name, g.base);
        }
        let _ = writeln!(s, "}};");
        s
    }

    /// A Markdown table per group: offset, register, bits, access, reset, meaning.
    pub fn markdown(&self, generator: &str) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "# Register map of `{}`\n", self.name);
        let _ = writeln!(
            s,
            "Generated by {generator}. AXI4-Lite, 32-bit data, {} address bits; every register is 32 bits \
             at a 4-byte-aligned offset. Access: `rw` read/write, `ro` read-only, `pulse` write 1 to pulse \
             (reads 0), `w1c` sticky flags, write 1 to clear. An unmapped offset answers SLVERR.\n",
            self.addr_bits
        );
        if !self.constants.is_empty() {
            let _ = writeln!(s, "## Constants\n\n| name | value | meaning |\n|---|---|---|");
            for (n, v, doc) in &self.constants {
                let _ = writeln!(s, "| `{n}` | {v} | {doc} |");
            }
            s.push('\n');
        }
        for g in &self.groups {
            let _ = writeln!(s, "## `{}` at {:#06x}\n\n{}\n", g.name, g.base, g.doc);
            let _ = writeln!(s, "| offset | register | bits | access | reset | meaning |");
            let _ = writeln!(s, "|---|---|---|---|---|---|");
            for v in &g.values {
                for (reg, offset, bits, reset) in v.parts() {
                    let _ = writeln!(
                        s,
                        "| {offset:#06x} | `{reg}` | {} | {} | {reset:#x} | {} |",
                        bits,
                        v.access.name(),
                        v.doc.replace('|', "\\|")
                    );
                }
            }
            s.push('\n');
        }
        s
    }

    /// A C header: `<MAP>_<REG>_OFFSET`, `_RESET` and `_BITS` per register, `<MAP>_SPAN`.
    pub fn c_header(&self, generator: &str) -> String {
        let up = self.name.to_uppercase();
        let mut s = String::new();
        let _ = writeln!(s, "/* {generator}: register map of {}; generated, do not edit */", self.name);
        let _ = writeln!(s, "#ifndef {up}_REGS_H\n#define {up}_REGS_H\n");
        let _ = writeln!(s, "#define {up}_SPAN {:#x}u", self.span());
        for (n, v, doc) in &self.constants {
            let _ = writeln!(s, "#define {up}_{} {v}u /* {} */", n.to_uppercase(), doc.replace("*/", "* /"));
        }
        for v in self.values() {
            let _ = writeln!(s, "\n/* {} ({}) */", v.doc.replace("*/", "* /"), v.access.name());
            for (reg, offset, bits, reset) in v.parts() {
                let r = reg.to_uppercase();
                let _ = writeln!(s, "#define {up}_{r}_OFFSET {offset:#06x}u");
                let _ = writeln!(s, "#define {up}_{r}_BITS {bits}u");
                let _ = writeln!(s, "#define {up}_{r}_RESET {reset:#x}u");
            }
        }
        let _ = writeln!(s, "\n#endif");
        s
    }
}

/// Text safe inside a SystemRDL string.
fn rdl_text(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "'")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> RegMap {
        let mut m = RegMap::new("vdx_t_d", 16);
        m.group("mesh", "the array");
        m.value("cmd_m", 16, Access::Rw, 3, "M-1");
        m.value("go", 1, Access::Pulse, 0, "start");
        m.group("dma", "a channel");
        m.value("wide", 70, Access::Ro, 0, "a wide status");
        m.value("err", 2, Access::W1c, 0, "errors");
        m.align_groups();
        m
    }

    #[test]
    fn groups_are_aligned_and_wide_values_take_consecutive_registers() {
        let m = sample();
        assert_eq!(m.groups[0].base, 0);
        assert_eq!(m.find("mesh_go").unwrap().offset, 4);
        assert_eq!(m.groups[1].base, 0x100);
        let wide = m.find("dma_wide").unwrap();
        let parts = wide.parts();
        assert_eq!(parts.len(), 3);
        assert_eq!((parts[2].0.as_str(), parts[2].1, parts[2].2), ("dma_wide_2", 0x108, 6));
        assert_eq!(m.find("dma_err").unwrap().offset, 0x10c);
    }

    #[test]
    fn the_c_header_names_every_register() {
        let h = sample().c_header("vdx test");
        assert!(h.contains("#define VDX_T_D_DMA_WIDE_1_OFFSET 0x0104u"), "{h}");
        assert!(h.contains("#define VDX_T_D_MESH_CMD_M_RESET 0x3u"), "{h}");
    }
}
