//! `ucie_adapter`: the die-to-die adapter between a die's protocol layer (FDI side) and its
//! UCIe PHY (a flit-aligned chunk stream), after the UCIe 2.0 D2D adapter: Standard 256B Start
//! Header flits (Format 4) with CRC-16, sequence numbers, Ack/Nak, a transmit replay buffer and
//! retry on Nak or timeout, credits toward the far protocol layer, and the Reset / Active /
//! Retrain / LinkReset link states with the spec's encodings. It never loses, duplicates or
//! reorders a flit, whatever the channel does; the tests show it against a channel that flips
//! bits, drops and duplicates flits, stalls and goes down.
//!
//! On a die top the adapter's FDI side is driven by the protocol-layer bridge of [`bridge`],
//! which carries the die's stream switch over the link.
//!
//! # Flit (UCIe 2.0 §3.3.3, Format 4, Streaming)
//! | bytes | content |
//! |---|---|
//! | 0–1 | flit header (Table 3-5): byte 0 `[7:6]` protocol identifier (0 = adapter NOP; the protocol layer's flits use 1–3 and put it there), `[3:0]` `S[7:4]`; byte 1 `[5:4]` 00 explicit sequence number / 01 Ack / 10 Nak, `[3:0]` `S[3:0]`; stack, flit type and byte 0 bit 4 are 0 |
//! | 2–241 | 240 payload bytes from the protocol layer (a NOP carries the credit count in byte 2) |
//! | 242–251 | reserved, 0 |
//! | 252–253 | CRC0 over bytes 0–127, `C[7:0]` first |
//! | 254–255 | CRC1 over bytes 128–241 zero-extended to 128 bytes |
//!
//! # CRC (UCIe 1.1 §3.7)
//! Generator `x^16 + x^15 + x^2 + 1` (`(x + 1)(x^15 + x + 1)`: every 1-, 2- and 3-bit error is
//! detected), initial value 0, always over a 128-byte message, zero-extended at its end. Bits
//! enter the LFSR from bit 0 of byte 0 up to bit 7, then byte 1, and so on; `C[i]` is the
//! coefficient of `x^i` of the LFSR state (the spec's reference Verilog `crc_gen.vs` is not
//! public, so that reading is vdx's). [`golden::crc16`] is the bit-serial model, checked against
//! the `crc` crate; `vdx_ucie_crc` ([`rtl::build_crc`]) computes it a chunk per cycle as 16
//! masked parities derived from powers of `x` modulo the generator.
//!
//! # Retry and credits
//! The rules are [`model`]'s (a subset of §3.8, which simplifies PCIe Flit Mode retry):
//! payload flits always carry their explicit sequence number (1–255, 0 reserved); Acks and Naks
//! ride only in NOP flits, one after [`model::ACK_EVERY`] accepted flits or when the
//! transmitter has nothing else to send, so a flit lost whole can never shift the numbering.
//! The receiver takes the flit it expects; a bad CRC or header, or a gap, schedules a Nak; a
//! duplicate schedules an Ack. While it waits for the replay it Naks again when a dropped flit
//! is numbered at or behind the previous dropped one (the replay lost its first flit) or after
//! [`model::NAK_AGAIN`] drops (the Nak was lost), so neither waits for the replay timer. The transmitter keeps up to `min(replay_depth, 127)` flits until
//! they are acknowledged and replays from the oldest on a Nak, on [`model::REPLAY_TIMEOUT_FLITS`]
//! flit times without progress, and after a retrain. A new flit takes one of `credits`; the far
//! side returns them as a count modulo 256 in its NOPs, so a lost NOP loses none, and an idle
//! transmitter sends a NOP every [`model::REFRESH_SLOTS`] cycles.
//!
//! # Ports
//! | port | width | meaning |
//! |---|---|---|
//! | `lp_irdy_i`, `lp_valid_i`, `lp_data_i`, `pl_trdy_o` | 1, 1, `8·bytes`, 1 | protocol layer to adapter (FDI): a chunk moves when all three are high; a flit is `256 / bytes` chunks, the protocol layer driving 0 on the adapter's bytes |
//! | `pl_valid_o`, `pl_data_o` | 1, `8·bytes` | adapter to protocol layer (FDI, no backpressure): the chunks of each in-order payload flit, header and CRC bytes included |
//! | `pl_flit_cancel_o` | 1 | one cycle after a delivered flit's last chunk: drop it (its CRC or header failed); also at once when the link leaves Active in the middle of one |
//! | `lp_credit_return_i` | 1 | the protocol layer freed one flit of its receive buffer |
//! | `lp_state_req_i`, `pl_state_sts_o` | 4, 4 | link state request and status: 0000 Reset/NOP, 0001 Active, 1001 LinkReset, 1010 LinkError (status only), 1011 Retrain |
//! | `lp_linkerror_i` | 1 | the protocol layer signals an error that takes the link down: LinkError while high |
//! | `link_up_i` | 1 | the PHY's link is up |
//! | `phy_tx_valid_o`, `phy_tx_sof_o`, `phy_tx_data_o`, `phy_tx_ready_i` | 1, 1, `8·bytes`, 1 | chunks to the PHY; `sof` marks a flit's first chunk (the PHY's flit framing) |
//! | `phy_rx_valid_i`, `phy_rx_sof_i`, `phy_rx_data_i` | 1, 1, `8·bytes` | chunks from the PHY; a start of flit in the middle of one breaks that flit off (a bad flit) |
//! | `tx_unacked_o`, `tx_credits_o` | | flits sent and not acknowledged; credits held |
//! | `stat_accepted_o`, `stat_acked_o`, `stat_crc_errors_o` | 32, 32, 16 | flits taken from the protocol layer and acknowledged since reset (after a LinkReset their difference is what may not have arrived), flits received with a bad CRC or header |
//!
//! # Link states
//! Reset → Active when Active is requested with the link up; Active → Retrain when the link
//! drops or Retrain is requested, and back when it is up and Active is requested (everything
//! unacknowledged is replayed; nothing is lost or delivered twice); Active → LinkReset on request
//! (retry and credit state start over), → Reset on NOP. Any state → LinkError while
//! `lp_linkerror_i` is high (retry and credit state start over, as at a LinkReset), → Reset on
//! NOP once it is low. After a LinkReset or LinkError, `stat_accepted_o − stat_acked_o` since
//! the previous one bounds what the far side may not have received. A flit under way when the
//! link leaves Active runs to its end into the replay buffer but not onto the link. Not
//! implemented: L1/L2, Disabled, LinkError raised by the adapter itself or the far side (that
//! needs the sideband), parameter exchange, the 68B and latency-optimised formats.
//!
//! # Properties
//! Assertions in the RTL (inside `` `ifdef FORMAL ``), proved for every cycle out of reset by
//! `vdx formal` (SymbiYosys k-induction with Boolector; `make formal`):
//! - `credits_max`: the credits held never exceed `credits`;
//! - `credit_per_new_flit`: a new flit is taken only with a credit in hand (the count never
//!   goes below zero);
//! - `unacked_max`: at most `min(replay_depth, 127)` flits are unacknowledged;
//! - `new_flit_is_newest`: a new flit under way is in the slot of the newest unacknowledged one;
//! - `replay_keeps_unacked`: no write into the replay buffer lands on the slot of an older
//!   unacknowledged flit.
//!
//! # Timing
//! New and NOP flits leave in the cycle of the decision (the chunk passes through combinationally
//! with its header and CRC); a replayed flit's first chunk follows one cycle after its decision
//! (the buffer's read). A received flit's chunks reach `pl_data_o` in the cycle they arrive.

pub mod adapter;
pub mod bench;
pub mod bridge;
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
