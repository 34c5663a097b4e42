//! Builder of `vdx_noise_buffer`.

use super::NoiseBufferParams;
use crate::hdl::{HdlError, Module, ModuleBuilder, Reset, Signal, StreamType};

/// Builds the double buffer; see the block docs for ports and handshake.
pub fn build(p: &NoiseBufferParams) -> Result<Module, HdlError> {
    let m = ModuleBuilder::new("vdx_noise_buffer");
    m.block("noise_buffer")
        .param("lanes", p.lanes)
        .param("sample_width", p.sample_width)
        .param("tensor_samples", p.tensor_samples)
        .param("words", p.words())
        .param("depth", p.depth());
    let (wb, aw) = (p.word_bits(), p.addr_bits());
    // The SGU's words: `in_valid_i`, `in_data_i`, `in_ready_o`.
    let input = m.sink("in", &StreamType::data(wb));
    let (in_valid, in_data) = (input.valid(), input.data());
    let rd_en = m.input("rd_en_i", 1);
    let rd_addr = m.input("rd_addr_i", aw);
    let release = m.input("release_i", 1);

    m.section(
        "Writer: fills the bank wr_bank points at, one word per handshake, and flips to the other\n\
         bank when the last word is written (filled). Reader: reads the full bank rd_bank points\n\
         at and gives it back with release_i.",
    );
    let wr_bank = m.reg("wr_bank", 1, Reset::Zero);
    let wr_addr = m.reg("wr_addr", aw, Reset::Zero);
    let full: Vec<Signal> = (0..2).map(|b| m.reg(&format!("full{b}"), 1, Reset::Zero)).collect();
    let rd_bank = m.reg("rd_bank", 1, Reset::Zero);

    let bank_full = |bank: &Signal| bank.mux(&full[1], &full[0]);
    let in_ready = bank_full(&wr_bank).not().named("in_ready");
    let rd_valid = bank_full(&rd_bank).named("rd_valid");
    let write = in_valid.and(&in_ready).named("write");
    let last = wr_addr.eq(&wr_addr.lit(p.words() - 1)).named("last_word");
    let filled = write.and(&last).named("filled");
    let released = release.and(&rd_valid).named("released");

    m.next_when(&wr_addr, &write, &last.mux(&wr_addr.lit(0), &wr_addr.add(&wr_addr.lit(1))));
    m.next_when(&wr_bank, &filled, &wr_bank.not());
    m.next_when(&rd_bank, &released, &rd_bank.not());
    m.section("Bank state: a bank is full from its last write until the reader releases it.");
    for (b, f) in full.iter().enumerate() {
        // The writer only completes a bank that is not full and the reader only releases a full
        // one, so the two never target the same bank in one cycle.
        let this = |bank: &Signal| if b == 1 { bank.clone() } else { bank.not() };
        let set = filled.and(&this(&wr_bank)).named(&format!("bank{b}_filled"));
        let clear = released.and(&this(&rd_bank)).named(&format!("bank{b}_released"));
        m.next_when(f, &set.or(&clear), &set);
    }

    m.section("Two banks of words; rd_sel remembers which bank the registered read came from.");
    let mut rdata = Vec::new();
    for b in 0..2u32 {
        let bank = m.memory(&format!("bank{b}"), wb, p.depth());
        let here = if b == 1 { wr_bank.clone() } else { wr_bank.not() };
        bank.write(&write.and(&here), &wr_addr, &in_data);
        rdata.push(bank.read(&rd_en, &rd_addr));
    }
    let rd_sel = m.reg("rd_sel", 1, Reset::Zero);
    m.next_when(&rd_sel, &rd_en, &rd_bank);

    input.drive_ready(&in_ready);
    m.output("rd_valid_o", &rd_valid);
    m.output("rd_bank_o", &rd_bank);
    m.output("rd_data_o", &rd_sel.mux(&rdata[1], &rdata[0]));
    m.finish()
}
