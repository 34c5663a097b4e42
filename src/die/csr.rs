//! `vdx_csr`: the AXI4-Lite slave that holds a die's [`RegMap`].
//!
//! # Bus
//! AXI4-Lite (AMBA AXI4 specification, AXI4-Lite subset) with 32-bit data and `addr_bits` address
//! bits; ports `s_axil_<signal>_i/_o` (`awaddr`, `awvalid`, `awready`, `wdata`, `wstrb`, `wvalid`,
//! `wready`, `bresp`, `bvalid`, `bready`, `araddr`, `arvalid`, `arready`, `rdata`, `rresp`,
//! `rvalid`, `rready`; no `awprot`/`arprot`: the map has no protection). A write is taken when
//! its address and data are both offered (`awready = wready = awvalid & wvalid & ~bvalid`), one
//! at a time; a read when no read data waits. Responses are registered: OKAY, or SLVERR for an
//! offset outside the map or not 4-byte aligned (a write there changes nothing, a read returns
//! 0). `wstrb` selects the bytes written of `rw` registers and the bits acted on of `pulse` and
//! `w1c` ones.
//!
//! # Hardware side
//! Per value `v` of the map: `rw` → output `<v>_o` (the stored value); `pulse` → output `<v>_o`,
//! each written 1 bit high for the cycle after the write; `ro` → input `<v>_i`, read as it is;
//! `w1c` → input `<v>_set_i` (a 1 sets the bit) and output `<v>_o` (the sticky flags; a set in
//! the cycle of a clearing write wins).

use super::regmap::{Access, RegMap};
use crate::hdl::{HdlError, Module, ModuleBuilder, Reset, Signal, cat};

/// Builds the CSR slave for `map`.
pub fn build(map: &RegMap) -> Result<Module, HdlError> {
    let m = ModuleBuilder::new("vdx_csr");
    m.block("csr")
        .param("map", &map.name)
        .param("addr_bits", map.addr_bits)
        .param("registers", map.values().map(|v| v.registers()).sum::<u32>());
    let ab = map.addr_bits;
    let awaddr = m.input("s_axil_awaddr_i", ab);
    let awvalid = m.input("s_axil_awvalid_i", 1);
    let wdata = m.input("s_axil_wdata_i", 32);
    let wstrb = m.input("s_axil_wstrb_i", 4);
    let wvalid = m.input("s_axil_wvalid_i", 1);
    let bready = m.input("s_axil_bready_i", 1);
    let araddr = m.input("s_axil_araddr_i", ab);
    let arvalid = m.input("s_axil_arvalid_i", 1);
    let rready = m.input("s_axil_rready_i", 1);

    m.section("Write channel: an address and its data are taken together, one write at a time.");
    let bvalid = m.reg("bvalid", 1, Reset::Zero);
    let bresp = m.reg("bresp", 2, Reset::Zero);
    let write = awvalid.and(&wvalid).and(&bvalid.not()).named("write");
    let wmask = cat(&[
        &wstrb.bit(3).repeat(8),
        &wstrb.bit(2).repeat(8),
        &wstrb.bit(1).repeat(8),
        &wstrb.bit(0).repeat(8),
    ])
    .named("wmask");
    let wbits = wdata.and(&wmask).named("wbits");

    m.section("Read channel: read data is registered and held until taken.");
    let rvalid = m.reg("rvalid", 1, Reset::Zero);
    let rresp = m.reg("rresp", 2, Reset::Zero);
    let rdata = m.reg("rdata", 32, Reset::Zero);
    let read = arvalid.and(&rvalid.not()).named("read");

    m.section("Registers.");
    let word_of = |addr: &Signal, offset: u32, tag: &str| -> Signal {
        addr.eq(&addr.lit(u64::from(offset))).named(&format!("{tag}_at_{offset:x}"))
    };
    let mut write_hit = m.lit(0, 1);
    let mut read_hit = m.lit(0, 1);
    let mut read_terms: Vec<Signal> = Vec::new();
    for v in map.values() {
        let parts = v.parts();
        let mut words = Vec::new();
        for (reg, offset, bits, reset) in &parts {
            let wsel = write.and(&word_of(&awaddr, *offset, "w")).named(&format!("{reg}_wr"));
            let rsel = word_of(&araddr, *offset, "r");
            write_hit = write_hit.or(&wsel);
            read_hit = read_hit.or(&rsel);
            let bits_w = *bits;
            let value: Signal = match v.access {
                Access::Rw => {
                    let q = m.reg(reg, bits_w, Reset::Value(*reset));
                    let mask = wmask.slice(bits_w - 1, 0);
                    let merged = q.and(&mask.not()).or(&wdata.slice(bits_w - 1, 0).and(&mask));
                    m.next_when(&q, &wsel, &merged.named(&format!("{reg}_merged")));
                    q
                }
                Access::Pulse => {
                    let q = m.reg(reg, bits_w, Reset::Zero);
                    m.next(&q, &wsel.repeat(bits_w).and(&wbits.slice(bits_w - 1, 0)));
                    words.push(q);
                    continue;
                }
                Access::Ro => m.wire(&format!("{reg}_in"), bits_w),
                Access::W1c => {
                    let q = m.reg(reg, bits_w, Reset::Zero);
                    words.push(q.clone());
                    q
                }
            };
            read_terms.push(rsel.repeat(bits_w).and(&value).resize(32).named(&format!("{reg}_rd")));
            if v.access != Access::W1c {
                words.push(value);
            }
        }
        let refs: Vec<&Signal> = words.iter().rev().collect();
        match v.access {
            Access::Rw | Access::Pulse => m.output(&format!("{}_o", v.name), &cat(&refs)),
            Access::Ro => {
                let input = m.input(&format!("{}_i", v.name), v.width);
                for (i, (w, (_, _, bits, _))) in words.iter().zip(&parts).enumerate() {
                    let lo = 32 * i as u32;
                    m.drive(w, &input.slice(lo + bits - 1, lo));
                }
            }
            Access::W1c => {
                let set = m.input(&format!("{}_set_i", v.name), v.width);
                for (i, (q, (reg, offset, bits, _))) in words.iter().zip(&parts).enumerate() {
                    let lo = 32 * i as u32;
                    let clear = write
                        .and(&word_of(&awaddr, *offset, "c"))
                        .repeat(*bits)
                        .and(&wbits.slice(bits - 1, 0));
                    let next = q.and(&clear.not()).or(&set.slice(lo + bits - 1, lo));
                    m.next(q, &next.named(&format!("{reg}_next")));
                }
                m.output(&format!("{}_o", v.name), &cat(&refs));
            }
        }
    }
    let write_hit = write_hit.named("write_hit");
    let read_hit = read_hit.named("read_hit");
    let read_value = read_terms.iter().fold(m.lit(0, 32), |acc, t| acc.or(t)).named("read_value");

    m.section("Responses: OKAY (00) on a mapped offset, SLVERR (10) elsewhere.");
    m.next(&bvalid, &write.or(&bvalid.and(&bready.not())));
    m.next_when(&bresp, &write, &write_hit.mux(&m.lit(0, 2), &m.lit(2, 2)));
    m.next(&rvalid, &read.or(&rvalid.and(&rready.not())));
    m.next_when(&rresp, &read, &read_hit.mux(&m.lit(0, 2), &m.lit(2, 2)));
    m.next_when(&rdata, &read, &read_value);
    m.output("s_axil_awready_o", &write);
    m.output("s_axil_wready_o", &write);
    m.output("s_axil_bvalid_o", &bvalid);
    m.output("s_axil_bresp_o", &bresp);
    m.output("s_axil_arready_o", &read);
    m.output("s_axil_rvalid_o", &rvalid);
    m.output("s_axil_rdata_o", &rdata);
    m.output("s_axil_rresp_o", &rresp);
    m.finish()
}
