use super::golden::{CRC_MESSAGE_BYTES, CRC_POLY, crc_update, crc16};
use crate::blocks::BlockParams;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

/// The `crc` crate's table-driven CRC with §3.7's parameters: bits taken from bit 0 of each byte
/// (`refin`), the register not reflected on output, no final XOR.
const UCIE_CRC: crc::Algorithm<u16> = crc::Algorithm {
    width: 16,
    poly: CRC_POLY,
    init: 0,
    refin: true,
    refout: false,
    xorout: 0,
    check: 0,
    residue: 0,
};

fn reference(message: &[u8]) -> u16 {
    let mut padded = message.to_vec();
    padded.resize(CRC_MESSAGE_BYTES, 0);
    crc::Crc::<u16>::new(&UCIE_CRC).checksum(&padded)
}

fn random_message(rng: &mut StdRng) -> Vec<u8> {
    let len = if rng.random_bool(0.5) { CRC_MESSAGE_BYTES } else { rng.random_range(0..=CRC_MESSAGE_BYTES) };
    (0..len).map(|_| rng.random()).collect()
}

#[test]
fn golden_crc_equals_the_crc_crate_on_random_messages() {
    let mut rng = StdRng::seed_from_u64(1);
    for _ in 0..2000 {
        let msg = random_message(&mut rng);
        assert_eq!(crc16(&msg), reference(&msg), "{msg:02x?}");
    }
    // A single bit: x^(1023 - k) · x^16 mod G for bit k of the message, so bit 0 of byte 0
    // and bit 7 of byte 127 give different, non-zero CRCs.
    let mut first = [0u8; CRC_MESSAGE_BYTES];
    first[0] = 1;
    let mut last = [0u8; CRC_MESSAGE_BYTES];
    last[127] = 0x80;
    assert_eq!(crc16(&last), 0x8005, "x^16 mod G is the polynomial's low part");
    assert_ne!(crc16(&first), crc16(&last));
    assert_eq!(crc16(&[]), 0);
}

#[test]
fn zero_extension_is_at_the_end_of_the_message() {
    let msg: Vec<u8> = (1..=100).collect();
    let mut padded = msg.clone();
    padded.resize(128, 0);
    assert_eq!(crc16(&msg), crc16(&padded));
    // Zeros in front are not the same message.
    let mut front = vec![0u8; 28];
    front.extend_from_slice(&msg);
    assert_ne!(crc16(&msg), crc16(&front));
}

#[test]
fn crc_is_linear_and_chunks_compose() {
    let mut rng = StdRng::seed_from_u64(2);
    let msg: Vec<u8> = (0..128).map(|_| rng.random()).collect();
    for chunk in [1, 3, 32, 64] {
        let state = msg.chunks(chunk).fold(0, crc_update);
        assert_eq!(state, crc16(&msg), "chunks of {chunk}");
    }
}

/// Flips the bits at `positions` (bit `k` = bit `k % 8` of byte `k / 8`).
fn flipped(msg: &[u8], positions: &[usize]) -> Vec<u8> {
    let mut m = msg.to_vec();
    for &k in positions {
        m[k / 8] ^= 1 << (k % 8);
    }
    m
}

/// Every 1- and 2-bit error of sampled messages, exhaustively over the 1,024 bit positions
/// (523,776 pairs each), and every 3-bit error with its first bit in a sampled set, changes
/// the CRC. By linearity the CRC of a corrupted message is the CRC of the message XOR the CRC
/// of the error pattern, so a missed error would be a pattern whose CRC is 0: the pairs and
/// triples are checked through the error patterns' CRCs, which is that statement exactly.
#[test]
fn every_one_two_and_three_bit_error_is_detected() {
    let bits = 8 * CRC_MESSAGE_BYTES;
    // CRC of the single-bit pattern at each position.
    let single: Vec<u16> = (0..bits).map(|k| crc16(&flipped(&[0u8; CRC_MESSAGE_BYTES], &[k]))).collect();
    let mut rng = StdRng::seed_from_u64(3);
    for _ in 0..4 {
        let msg: Vec<u8> = (0..CRC_MESSAGE_BYTES).map(|_| rng.random()).collect();
        let good = crc16(&msg);
        for (k, s) in single.iter().enumerate() {
            // Linearity, checked on the real message for every single-bit error.
            assert_eq!(crc16(&flipped(&msg, &[k])), good ^ s, "bit {k}");
            assert_ne!(*s, 0, "bit {k} undetected");
        }
        for _ in 0..200 {
            let (a, b) = (rng.random_range(0..bits), rng.random_range(0..bits));
            if a != b {
                assert_ne!(crc16(&flipped(&msg, &[a, b])), good, "bits {a}, {b}");
            }
        }
    }
    for a in 0..bits {
        for b in a + 1..bits {
            assert_ne!(single[a] ^ single[b], 0, "bits {a}, {b} undetected");
        }
    }
    let pairs: std::collections::HashSet<u16> = (0..bits)
        .flat_map(|a| (a + 1..bits).map(move |b| (a, b)))
        .map(|(a, b)| single[a] ^ single[b])
        .collect();
    // A 3-bit error a, b, c is missed iff single[c] is the CRC of the pair a, b (neither can
    // be c: single[a] is never 0); so no single-bit CRC may be a pair's.
    for (c, s) in single.iter().enumerate() {
        assert!(!pairs.contains(s), "a 3-bit error with bit {c} is undetected");
    }
}

#[test]
fn bandwidth_of_the_default_link() {
    use super::UcieAdapterParams;
    let p = UcieAdapterParams::default();
    assert!(p.validate().is_empty());
    let bw = p.bandwidth(1500.0, 240);
    // One x64 module at 32 GT/s moves 256 GB/s per direction; four move 1,024.
    assert_eq!(bw.raw_gb_s, 1024.0);
    assert_eq!(bw.payload_gb_s, 960.0);
    assert_eq!(bw.datapath_gb_s, 96.0);
    assert_eq!(bw.adapters_per_module, 3);
    assert_eq!(bw.modules_for_800_gb_s, 4);
    let narrow = UcieAdapterParams { lanes: 16, gt_s: 16, ..p.clone() };
    assert_eq!(narrow.bandwidth(1500.0, 240).modules_for_800_gb_s, 27);
}

#[test]
fn bad_parameters_are_named() {
    use super::UcieAdapterParams;
    let p = UcieAdapterParams::default();
    for (bad, field) in [
        (UcieAdapterParams { bytes: 48, ..p.clone() }, "bytes"),
        (UcieAdapterParams { replay_depth: 24, ..p.clone() }, "replay_depth"),
        (UcieAdapterParams { credits: 0, ..p.clone() }, "credits"),
        (UcieAdapterParams { modules: 5, ..p.clone() }, "modules"),
        (UcieAdapterParams { lanes: 32, ..p.clone() }, "lanes"),
        (UcieAdapterParams { gt_s: 20, ..p.clone() }, "gt_s"),
    ] {
        let issues = bad.validate();
        assert_eq!(issues.len(), 1, "{bad:?}: {issues:?}");
        assert_eq!(issues[0].field, field);
    }
}
