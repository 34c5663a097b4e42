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
