use super::LatentBufferParams;
use super::golden::{Beat, Mapping};
use crate::blocks::BlockParams;
use proptest::prelude::*;
use std::collections::HashSet;

fn params(banks: u32, depth: u64) -> LatentBufferParams {
    LatentBufferParams { banks, depth, word_width: 8, read_ports: 4, write_words: 4, pitch_width: 8 }
}

proptest! {
    /// Every (token, word) that fits has its own (bank, row), and every (bank, row) that the
    /// tokens below the first that does not fit could reach is used: the map is a bijection
    /// onto the rows it fills.
    #[test]
    fn the_bank_map_is_a_bijection(log_banks in 1u32..=5, log_depth in 1u32..=7, pitch in 1u64..=40) {
        let p = params(1 << log_banks, 1 << log_depth);
        let map = Mapping::new(&p, pitch);
        let mut seen = HashSet::new();
        let mut fitting = 0u64;
        for token in 0..map.tokens {
            for word in 0..pitch {
                if let Some((bank, row)) = map.locate(token, word) {
                    prop_assert!(bank < map.banks && row < map.depth);
                    prop_assert!(seen.insert((bank, row)), "({token}, {word}) shares ({bank}, {row})");
                    fitting += 1;
                }
            }
        }
        // Whole row blocks of `banks` tokens fill `pitch` rows of every bank.
        let blocks = map.depth / pitch;
        prop_assert!(fitting >= blocks * map.banks * pitch);
        prop_assert!(fitting <= map.banks * map.depth);
    }

    /// Reads of `banks` neighbouring tokens at one word never conflict, whatever the pitch.
    #[test]
    fn neighbouring_tokens_use_every_bank_once(log_banks in 1u32..=8, pitch in 1u64..=200, t0 in 0u64..10_000, w in 0u64..200) {
        let banks = 1u64 << log_banks;
        let map = Mapping { banks, depth: 1 << 20, pitch, tokens: 1 << 40 };
        let w = w % pitch;
        let used: HashSet<u64> = (0..banks).map(|r| map.locate(t0 + r, w).unwrap().0).collect();
        prop_assert_eq!(used.len() as u64, banks);
    }
}

#[test]
fn wan_14b_reads_are_conflict_free_where_a_plain_map_conflicts_8_ways() {
    let p = LatentBufferParams::default();
    let map = Mapping::new(&p, 40);
    let read = Beat::Read { token: (100..356).collect(), word: vec![7; 256], keep: vec![true; 256] };
    assert_eq!(read.cycles(&map), 1);
    let plain: HashSet<u64> = (100..356u64).map(|t| (t * 40 + 7) % 256).collect();
    assert_eq!(plain.len(), 32, "address mod banks uses 32 banks");
    // A position-minor layout (tokens T = 32 apart) puts 32 reads in each of 8 banks.
    let map = Mapping { depth: 1 << 20, ..map };
    let strided =
        Beat::Read { token: (0..256).map(|r| r * 32).collect(), word: vec![0; 256], keep: vec![true; 256] };
    assert_eq!(strided.cycles(&map), 32);
}

#[test]
fn write_beats_wrap_into_the_next_token() {
    let p = params(8, 64);
    let map = Mapping::new(&p, 5);
    assert_eq!(map.write_target(3, 3, 0), map.locate(3, 3));
    assert_eq!(map.write_target(3, 3, 2), map.locate(4, 0));
    assert_eq!(map.write_target(3, 5, 0), None, "a beat must start inside a token");
    assert_eq!(map.write_target(3, 4, 6), None, "at most one wrap");
    let beat = Beat::Write { token: 3, word: 2, keep: vec![true; 4], data: vec![vec![0]; 4] };
    assert_eq!(beat.cycles(&map), 1, "4 words of a 5-word token never share a bank");
}

#[test]
fn bad_parameters_are_named() {
    let bad = |p: LatentBufferParams| p.validate().into_iter().map(|i| i.field).collect::<Vec<_>>();
    assert_eq!(bad(LatentBufferParams { banks: 12, ..params(8, 8) }), ["banks"]);
    assert_eq!(bad(LatentBufferParams { depth: 1, ..params(8, 8) }), ["depth"]);
    assert_eq!(bad(LatentBufferParams { read_ports: 0, ..params(8, 8) }), ["read_ports"]);
}
