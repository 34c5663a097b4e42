//! Builders of the adapter's modules. `vdx_ucie_crc` is the running CRC of a message that
//! arrives in chunks of the datapath width.

use crate::hdl::{Bits, HdlError, Module, ModuleBuilder, Reset, Signal, cat};

/// Polynomial `x^e mod G(x)` as 16 coefficient bits, for `e` in `0..count`, by long division
/// one degree at a time: multiplying by `x` and reducing by `G = x^16 + x^15 + x^2 + 1` when
/// the `x^16` term appears.
fn powers_of_x(count: usize) -> Vec<u16> {
    const G_LOW: u32 = (1 << 15) | (1 << 2) | 1;
    let mut powers = Vec::with_capacity(count);
    let mut r: u32 = 1;
    for _ in 0..count {
        powers.push(r as u16);
        r <<= 1;
        if r & (1 << 16) != 0 {
            r = (r ^ (1 << 16)) ^ G_LOW;
        }
    }
    powers
}

/// Builds `vdx_ucie_crc`, the CRC of a message arriving `bytes` bytes per cycle.
///
/// Ports: `en_i` (a chunk is present), `start_i` (it is the first of a message: the CRC starts
/// from 0), `data_i` (`8·bytes` bits, byte `j` in bits `[8j+7:8j]`), `crc_o` (16 bits: the CRC
/// of the message through this chunk, combinational, so that the last chunk's CRC can be sent
/// or checked in the chunk that carries it). The state register keeps `crc_o` of the last
/// enabled chunk.
///
/// Over a chunk of `n = 8·bytes` bits the LFSR computes
/// `C' = (C·x^n + Σ_k d_k·x^(n−1−k+16)) mod G` (bit `k` = bit `k mod 8` of byte `k / 8`, fed
/// in that order), so each output bit is the parity of the state and data bits whose power of
/// `x` has that bit set: 16 masked XOR reductions, no loop.
pub fn build_crc(bytes: u32) -> Result<Module, HdlError> {
    let m = ModuleBuilder::new("vdx_ucie_crc");
    m.block(<super::UcieAdapterParams as crate::blocks::BlockParams>::BLOCK).param("bytes", bytes);
    let n = 8 * bytes as usize;
    let en = m.input("en_i", 1);
    let start = m.input("start_i", 1);
    let data = m.input("data_i", 8 * bytes);

    m.section("The state a chunk continues from: 0 at the start of a message.");
    let state = m.reg("crc", 16, Reset::Zero);
    let from = start.mux(&m.lit(0, 16), &state).named("crc_from");

    m.section(
        "One parity per CRC bit over the state and data bits that reach it: {data, state} AND a\n\
         constant mask, reduced by XOR.",
    );
    let powers = powers_of_x(n + 16);
    let both = data.concat(&from).named("crc_in");
    let mut out_bits: Vec<Signal> = Vec::with_capacity(16);
    for j in 0..16 {
        // Bit i < 16 of the mask is state bit i; bit 16 + k is data bit k.
        let mut words = vec![0u64; (n + 16).div_ceil(64)];
        for i in 0..16 {
            if powers[i + n] >> j & 1 == 1 {
                words[i / 64] |= 1 << (i % 64);
            }
        }
        for k in 0..n {
            if powers[n - 1 - k + 16] >> j & 1 == 1 {
                let at = 16 + k;
                words[at / 64] |= 1 << (at % 64);
            }
        }
        let mask = m.lit_bits(Bits::from_words(&words, (n + 16) as u32));
        out_bits.push(both.and(&mask).reduce_xor().named(&format!("crc_bit{j}")));
    }
    let msb_first: Vec<&Signal> = out_bits.iter().rev().collect();
    let next = cat(&msb_first).named("crc_next");
    m.next_when(&state, &en, &next);
    m.output("crc_o", &next);
    m.finish()
}
