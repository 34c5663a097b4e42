//! `ucie_adapter` (in progress): the UCIe die-to-die adapter between a die's protocol layer and
//! its UCIe PHY. What exists so far is its CRC; the flit packing, retry, credits and link states
//! follow (the block is listed as not available until they do).
//!
//! # CRC (UCIe 1.1 §3.7, "CRC Computation")
//! Generator `x^16 + x^15 + x^2 + 1` (`(x + 1)(x^15 + x + 1)`: every 1-, 2- and 3-bit error is
//! detected), initial value 0, always over a 128-byte message; a shorter message is
//! zero-extended at its end (its most significant bytes, §3.7). Bits enter the LFSR from bit 0
//! of byte 0 up to bit 7 of byte 0, then byte 1, and so on. The result `C[15:0]` is sent as
//! `C[7:0]` in the first CRC byte and `C[15:8]` in the second. In the spec's figure, `C[15]` is
//! bit 7 of CRC byte 1; vdx takes `C[i]` to be the coefficient of `x^i` of the LFSR state (the
//! spec's reference Verilog, `crc_gen.vs`, is not public, so that reading is vdx's).
//! [`golden::crc16`] is the bit-serial model; the tests check it against the `crc` crate's
//! table-driven CRC with the same parameters.
//!
//! `vdx_ucie_crc` ([`rtl::build_crc`]) computes the CRC of a message arriving one chunk of the
//! datapath per cycle: a 16-bit state and one XOR tree per CRC bit over the state and the
//! chunk's bits, derived from powers of `x` modulo the generator.
//!
//! | port | width | meaning |
//! |---|---|---|
//! | `en_i` | 1 | a chunk is present: the state takes `crc_o` |
//! | `start_i` | 1 | the chunk begins a message (the CRC starts from 0) |
//! | `data_i` | `8·bytes` | the chunk, byte `j` in bits `[8j+7:8j]` |
//! | `crc_o` | 16 | CRC of the message through this chunk (combinational) |

pub mod adapter;
pub mod golden;
pub mod loopback;
pub mod model;
pub mod params;
pub mod rtl;
pub mod tb;

pub use params::{Bandwidth, UcieAdapterParams};

#[cfg(test)]
mod tests;

#[cfg(test)]
mod model_tests;
