//! Bit-exact models of the adapter: the flit CRC (UCIe 1.1 §3.7, "CRC Computation").

/// The CRC generator polynomial `x^16 + x^15 + x^2 + 1` without its `x^16` term.
pub const CRC_POLY: u16 = 0x8005;

/// Bytes of one CRC message: shorter messages are zero-extended to it.
pub const CRC_MESSAGE_BYTES: usize = 128;

/// Runs the CRC LFSR from state `crc` over `bytes`, one bit at a time: bit 0 of the first byte
/// first, then bits 1 to 7, then the next byte (§3.7). State bit `i` is the coefficient of
/// `x^i`; the bit fed in is added to bit 15 and the result, when 1, folds the polynomial back.
pub fn crc_update(mut crc: u16, bytes: &[u8]) -> u16 {
    for &byte in bytes {
        for bit in 0..8 {
            let feedback = u16::from((byte >> bit) & 1) ^ (crc >> 15);
            crc <<= 1;
            if feedback == 1 {
                crc ^= CRC_POLY;
            }
        }
    }
    crc
}

/// The CRC of `message` (at most [`CRC_MESSAGE_BYTES`]) as §3.7 defines it: initial value 0, the
/// message zero-extended to 128 bytes at its end (its most significant bytes). `C[7:0]` is sent
/// as the first CRC byte and `C[15:8]` as the second.
pub fn crc16(message: &[u8]) -> u16 {
    assert!(message.len() <= CRC_MESSAGE_BYTES, "a CRC message is at most 128 bytes, not {}", message.len());
    let padding = [0u8; CRC_MESSAGE_BYTES];
    crc_update(crc_update(0, message), &padding[message.len()..])
}

/// Bytes of a flit (Standard 256B formats).
pub const FLIT: usize = 256;

/// First payload byte of a Format 4 (Standard 256B Start Header) flit: bytes 0–1 are the flit
/// header (UCIe 2.0 §3.3.3, the Streaming layout of Format 4).
pub const PAYLOAD_START: usize = 2;

/// One past the last payload byte: bytes 242–251 are reserved (0).
pub const PAYLOAD_END: usize = 242;

/// Payload bytes per flit.
pub const PAYLOAD: usize = PAYLOAD_END - PAYLOAD_START;

/// Where CRC0 (over flit bytes 0–127) and CRC1 (over bytes 128–241) are sent, `C[7:0]` first.
pub const CRC0_AT: usize = 252;
/// See [`CRC0_AT`].
pub const CRC1_AT: usize = 254;

/// The byte of a NOP flit's payload that carries the credits the receiving side's protocol
/// layer has returned, counted modulo 256 since reset (vdx's use of the NOP payload, which
/// the adapter fills).
pub const CREDIT_BYTE: usize = PAYLOAD_START;

/// What bits `[5:4]` of flit header byte 1 say the sequence number field is (Table 3-5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmd {
    /// `00`: the flit's own (explicit) sequence number.
    Seq,
    /// `01`: the last sequence number received in order (an Ack).
    Ack,
    /// `10`: a Nak, carrying `N − 1` (255 for `N = 1`), where `N` is the first flit wanted again.
    Nak,
}

/// The two flit header bytes of the 256B formats with retry (UCIe 2.0 Table 3-5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Byte 0 bits `[7:6]`: 0 is an adapter NOP flit; the protocol layer's flits use 1–3.
    pub protocol: u8,
    /// Byte 1 bits `[5:4]`.
    pub cmd: Cmd,
    /// The 8-bit sequence number `S`: byte 0 bits `[3:0]` are `S[7:4]`, byte 1 bits `[3:0]`
    /// are `S[3:0]`; 0 is reserved.
    pub seq: u8,
}

impl Header {
    /// The two header bytes (stack 0, flit type 0, reserved bits 0).
    pub fn encode(&self) -> [u8; 2] {
        let cmd = match self.cmd {
            Cmd::Seq => 0,
            Cmd::Ack => 1,
            Cmd::Nak => 2,
        };
        [(self.protocol & 3) << 6 | self.seq >> 4, cmd << 4 | (self.seq & 15)]
    }

    /// Reads a header; `None` when a bit vdx never sends is set (stack 1, byte 0 bit 4, a
    /// flit type other than 0), the command is `11`, or the sequence number is the reserved 0.
    pub fn decode(bytes: [u8; 2]) -> Option<Header> {
        let [b0, b1] = bytes;
        if b0 & 0x30 != 0 || b1 & 0xc0 != 0 {
            return None;
        }
        let cmd = match (b1 >> 4) & 3 {
            0 => Cmd::Seq,
            1 => Cmd::Ack,
            2 => Cmd::Nak,
            _ => return None,
        };
        let seq = (b0 & 15) << 4 | (b1 & 15);
        (seq != 0).then_some(Header { protocol: b0 >> 6, cmd, seq })
    }
}

/// A flit with `header` and `payload` (bytes 2–241), reserved bytes 0 and both CRCs filled in.
pub fn make_flit(header: Header, payload: &[u8; PAYLOAD]) -> [u8; FLIT] {
    let mut f = [0u8; FLIT];
    f[..PAYLOAD_START].copy_from_slice(&header.encode());
    f[PAYLOAD_START..PAYLOAD_END].copy_from_slice(payload);
    let (c0, c1) = flit_crcs(&f);
    f[CRC0_AT..CRC0_AT + 2].copy_from_slice(&c0.to_le_bytes());
    f[CRC1_AT..CRC1_AT + 2].copy_from_slice(&c1.to_le_bytes());
    f
}

/// CRC0 and CRC1 of a flit as it should carry them.
pub fn flit_crcs(f: &[u8; FLIT]) -> (u16, u16) {
    (crc16(&f[..128]), crc16(&f[128..PAYLOAD_END]))
}

/// Whether both CRCs a flit carries match its bytes.
pub fn crcs_ok(f: &[u8; FLIT]) -> bool {
    let (c0, c1) = flit_crcs(f);
    f[CRC0_AT..CRC0_AT + 2] == c0.to_le_bytes() && f[CRC1_AT..CRC1_AT + 2] == c1.to_le_bytes()
}

/// The sequence number after `s` (1 to 255, then 1 again: 0 is reserved).
pub fn next_seq(s: u8) -> u8 {
    if s == 255 { 1 } else { s + 1 }
}

/// The sequence number before `s`.
pub fn prev_seq(s: u8) -> u8 {
    if s <= 1 { 255 } else { s - 1 }
}

/// Steps from `a` forward to `b` on the cycle of 255 sequence numbers.
pub fn seq_distance(a: u8, b: u8) -> u32 {
    (u32::from(b) + 255 - u32::from(a)) % 255
}
