//! The UCIe protocol-layer bridge (`vdx_ucie_port`: an adapter with `vdx_ucie_bridge` on its
//! FDI) on Verilator: two ports back to back, each side streaming random beats at random pace
//! into a consumer that applies random backpressure, over a channel that flips bits and takes
//! the link down. The scoreboard sees only ports: every beat must arrive once, in order,
//! unchanged; the flits on the wire must have the layout the bridge's datasheet gives (decoded
//! here from the bytes, independently of the RTL); the bit flips must really have cost flits
//! (CRC errors, so cancels were exercised) and the receive buffers must never overflow.

mod common;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use std::collections::VecDeque;
use vdx::blocks::BlockParams;
use vdx::blocks::ucie::UcieAdapterParams;
use vdx::blocks::ucie::bridge::{BridgeShape, COUNT_AT, PROTO_FULL, PROTO_PARTIAL, port};
use vdx::hdl::{Design, Module, ModuleBuilder, Signal};
use vdx::sim::verilator::VerilatorDut;
use vdx::sim::{CycleSim, PortLayout};

/// Two ports, `a` and `b`, whose PHY sides meet through XOR masks `a2b_flip_i`, `b2a_flip_i`.
fn pair(adapter: &Module, word_bits: u32) -> Module {
    let p = port(adapter, word_bits).unwrap();
    let m = ModuleBuilder::new("vdx_ucie_bridge_pair");
    m.block("test").param("word_bits", word_bits);
    let cw = p.ports().iter().find(|q| q.name == "phy_rx_data_i").unwrap().width;
    let flips = [m.input("a2b_flip_i", cw), m.input("b2a_flip_i", cw)];
    let link_up = m.input("link_up_i", 1);
    let ready = m.lit(1, 1);
    let tx: Vec<[Signal; 3]> = ["a", "b"]
        .iter()
        .map(|s| {
            [
                m.wire(&format!("{s}_phy_valid"), 1),
                m.wire(&format!("{s}_phy_sof"), 1),
                m.wire(&format!("{s}_phy_data"), cw),
            ]
        })
        .collect();
    for (i, side) in ["a", "b"].iter().enumerate() {
        let far = &tx[1 - i];
        let flip = &flips[1 - i];
        let mut inputs: Vec<(String, Signal)> = vec![
            ("link_up_i".into(), link_up.clone()),
            ("phy_tx_ready_i".into(), ready.clone()),
            ("phy_rx_valid_i".into(), far[0].clone()),
            ("phy_rx_sof_i".into(), far[1].clone()),
            ("phy_rx_data_i".into(), far[2].xor(flip)),
        ];
        for q in p.ports() {
            let skip = inputs.iter().any(|(n, _)| *n == q.name) || q.name == "clk_i" || q.name == "rst_ni";
            if q.dir == vdx::hdl::PortDir::Input && !skip {
                inputs.push((q.name.clone(), m.input(&format!("{side}_{}", q.name), q.width)));
            }
        }
        let refs: Vec<(&str, &Signal)> = inputs.iter().map(|(n, s)| (n.as_str(), s)).collect();
        let u = m.instance(&format!("u_{side}"), &p, &refs);
        m.drive(&tx[i][0], &u.output("phy_tx_valid_o"));
        m.drive(&tx[i][1], &u.output("phy_tx_sof_o"));
        m.drive(&tx[i][2], &u.output("phy_tx_data_o"));
        for q in p.ports() {
            if q.dir == vdx::hdl::PortDir::Output {
                m.output(&format!("{side}_{}", q.name), &u.output(&q.name));
            }
        }
    }
    m.finish().unwrap()
}

fn set(l: &PortLayout, f: &mut [u32], name: &str, v: u64) {
    l.input(name).unwrap_or_else(|e| panic!("{e}")).set(f, v);
}

fn get(l: &PortLayout, f: &[u32], name: &str) -> u64 {
    l.output(name).unwrap_or_else(|e| panic!("{e}")).get(f)
}

fn bits(words: &[u32], at: u32, width: u32) -> u64 {
    (0..width).fold(0, |v, b| v | u64::from(words[((at + b) / 32) as usize] >> ((at + b) % 32) & 1) << b)
}

/// Flits seen on one direction of the wire, decoded by the datasheet's layout: the units of
/// each new payload flit (a replay repeats a sequence number already seen and is skipped).
#[derive(Default)]
struct Wire {
    flit: Vec<u8>,
    next_seq: u8,
    units: Vec<Vec<u8>>,
    partial: u64,
}

impl Wire {
    fn chunk(&mut self, sof: bool, data: &[u32], s: &BridgeShape) {
        if sof {
            self.flit.clear();
        }
        self.flit.extend((0..s.bytes).map(|i| (data[(i / 4) as usize] >> (8 * (i % 4))) as u8));
        if self.flit.len() != 256 {
            return;
        }
        let (b0, b1) = (self.flit[0], self.flit[1]);
        let (proto, cmd, seq) = (b0 >> 6, (b1 >> 4) & 3, (b0 & 15) << 4 | (b1 & 15));
        if proto == 0 || cmd != 0 || seq != self.next_seq.max(1) {
            return;
        }
        self.next_seq = if seq == 255 { 1 } else { seq + 1 };
        let count = match proto {
            p if p == PROTO_FULL => s.units_per_flit,
            p if p == PROTO_PARTIAL => {
                self.partial += 1;
                u32::from(self.flit[COUNT_AT])
            }
            p => panic!("protocol identifier {p} on the wire"),
        };
        let ub = (s.unit_bits / 8) as usize;
        for i in 0..count as usize {
            self.units.push(self.flit[2 + ub * i..2 + ub * (i + 1)].to_vec());
        }
        for i in count as usize..s.units_per_flit as usize {
            let unused = &self.flit[2 + ub * i..2 + ub * (i + 1)];
            let at_count = 2 + ub * (i + 1) > COUNT_AT;
            assert!(
                at_count || unused.iter().all(|b| *b == 0),
                "unused unit {i} of a partial flit is not zero"
            );
        }
    }
}

struct Side {
    send: VecDeque<Vec<u32>>,
    sent: Vec<Vec<u32>>,
    got: Vec<Vec<u32>>,
    wire: Wire,
}

/// Runs the pair until both sides received `beats` beats; returns the CRC errors counted and
/// the partial flits seen.
fn run(p: &UcieAdapterParams, word_bits: u32, beats: usize, ber_flits: f64, seed: u64) -> (u64, u64) {
    let adapter = p.build().unwrap();
    let shape = BridgeShape::new(word_bits, p.bytes, p.credits);
    let src = Design::single(&pair(&adapter, word_bits)).emit().sim_source(0);
    let mut dut = VerilatorDut::build(&src).unwrap();
    let l = dut.layout().clone();
    let mut fi = vec![0u32; l.in_words];
    let mut fo = vec![0u32; l.out_words];
    let mut rng = StdRng::seed_from_u64(seed);
    let words = word_bits.div_ceil(32) as usize;
    let beat = |rng: &mut StdRng| -> Vec<u32> {
        let mut w: Vec<u32> = (0..words).map(|_| rng.random()).collect();
        if !word_bits.is_multiple_of(32) {
            w[words - 1] &= (1u32 << (word_bits % 32)) - 1;
        }
        w
    };
    let mut sides: Vec<Side> = (0..2)
        .map(|_| Side {
            send: (0..beats).map(|_| beat(&mut rng)).collect(),
            sent: Vec::new(),
            got: Vec::new(),
            wire: Wire::default(),
        })
        .collect();
    let (mut down, mut cycle) = (0u32, 0u64);
    let cw = 8 * p.bytes;
    while sides.iter().any(|s| s.got.len() < beats) {
        assert!(
            cycle < 400_000,
            "seed {seed}: only {} and {} of {beats} beats arrived",
            sides[0].got.len(),
            sides[1].got.len()
        );
        set(&l, &mut fi, "rst_ni", u64::from(cycle >= 3));
        // The link drops now and then (the adapter retrains and cancels a flit under way).
        if down > 0 {
            down -= 1;
        } else if cycle > 200 && rng.random_bool(0.002) {
            down = 30;
        }
        set(&l, &mut fi, "link_up_i", u64::from(down == 0));
        for (i, side) in ["a", "b"].iter().enumerate() {
            set(&l, &mut fi, &format!("{side}_lp_state_req_i"), 1);
            let offer = sides[i].send.front().cloned().filter(|_| cycle > 10 && rng.random_bool(0.7));
            set(&l, &mut fi, &format!("{side}_tx_valid_i"), u64::from(offer.is_some()));
            let data = offer.clone().unwrap_or_else(|| beat(&mut rng));
            l.input(&format!("{side}_tx_data_i")).unwrap().set_words(&mut fi, &data);
            set(&l, &mut fi, &format!("{side}_rx_ready_i"), u64::from(rng.random_bool(0.6)));
            let mut flip = vec![0u32; cw.div_ceil(32) as usize];
            if rng.random_bool(ber_flits) {
                let b = rng.random_range(0..cw);
                flip[(b / 32) as usize] |= 1 << (b % 32);
            }
            let dir = if i == 0 { "a2b_flip_i" } else { "b2a_flip_i" };
            l.input(dir).unwrap().set_words(&mut fi, &flip);
        }
        dut.run(&fi, &mut fo).unwrap();
        cycle += 1;
        for (i, side) in ["a", "b"].iter().enumerate() {
            let ready = get(&l, &fo, &format!("{side}_tx_ready_o")) == 1;
            if l.input(&format!("{side}_tx_valid_i")).unwrap().get(&fi) == 1 && ready {
                let b = sides[i].send.pop_front().unwrap();
                sides[i].sent.push(b);
            }
            if get(&l, &fo, &format!("{side}_rx_valid_o")) == 1
                && l.input(&format!("{side}_rx_ready_i")).unwrap().get(&fi) == 1
            {
                let d = l.output(&format!("{side}_rx_data_o")).unwrap().get_words(&fo).to_vec();
                sides[i].got.push(d);
            }
            for flag in ["rx_overflow_o", "rx_error_o"] {
                assert_eq!(
                    get(&l, &fo, &format!("{side}_{flag}")),
                    0,
                    "seed {seed}: {side}_{flag} at cycle {cycle}"
                );
            }
            if get(&l, &fo, &format!("{side}_phy_tx_valid_o")) == 1 {
                let sof = get(&l, &fo, &format!("{side}_phy_tx_sof_o")) == 1;
                let d = l.output(&format!("{side}_phy_tx_data_o")).unwrap().get_words(&fo).to_vec();
                sides[i].wire.chunk(sof, &d, &shape);
            }
        }
    }
    let mut crc_errors = 0;
    let mut partial = 0;
    for (i, side) in ["a", "b"].iter().enumerate() {
        let (tx, rx) = (&sides[i], &sides[1 - i]);
        assert_eq!(rx.got.len(), beats);
        for (j, (g, w)) in rx.got.iter().zip(&tx.sent).enumerate() {
            assert_eq!(g, w, "seed {seed}: beat {j} from {side} arrived changed");
        }
        // The wire, decoded by the datasheet, carries the sent beats' units in order.
        let want: Vec<Vec<u8>> = tx
            .sent
            .iter()
            .flat_map(|b| {
                (0..shape.units_per_beat).map(move |k| {
                    (0..shape.unit_bits / 8).map(|x| bits(b, k * shape.unit_bits + 8 * x, 8) as u8).collect()
                })
            })
            .collect();
        assert!(
            tx.wire.units == want,
            "seed {seed}: the flits from {side} do not carry the beats as laid out"
        );
        crc_errors += get(&l, &fo, &format!("{}_stat_crc_errors_o", ["a", "b"][1 - i]));
        partial += tx.wire.partial;
    }
    (crc_errors, partial)
}

/// An odd beat width over a 32-byte FDI (a unit per beat, 48 per flit) and a wide one over a
/// 64-byte FDI (two units per beat, three per flit): bit flips and link drops, both ways.
#[test]
fn bridge_carries_beats_both_ways_through_bit_flips_and_link_drops() {
    if !common::verilator() {
        return;
    }
    let cases = [
        (
            UcieAdapterParams { bytes: 32, replay_depth: 4, credits: 2, modules: 1, ..Default::default() },
            40,
            400,
        ),
        (
            UcieAdapterParams { bytes: 64, replay_depth: 8, credits: 8, modules: 1, ..Default::default() },
            1024,
            301,
        ),
    ];
    for (i, (p, w, beats)) in cases.iter().enumerate() {
        let (crc_errors, partial) = run(p, *w, *beats, 0.01, 40 + i as u64);
        println!("{w}-bit beats over {} bytes: {crc_errors} CRC errors, {partial} partial flits", p.bytes);
        assert!(crc_errors > 0, "the channel's bit flips never cost a flit: the cancel path went untested");
        assert!(partial > 0, "no partial flit was sent: the flush path went untested");
    }
}

/// `vdx_ucie_port` and its bridge pass Verilator `-Wall` and the Yosys check at both shapes.
#[test]
fn bridge_and_port_are_lint_clean() {
    if !common::lint_tools() {
        return;
    }
    for (bytes, w) in [(32, 40), (64, 1024)] {
        let p = UcieAdapterParams { bytes, replay_depth: 4, credits: 4, modules: 1, ..Default::default() };
        common::assert_lint_clean(&Design::single(&port(&p.build().unwrap(), w).unwrap()).emit());
    }
}

/// The unit chosen for the die fabrics in use, and what it costs.
#[test]
fn bridge_shapes_fill_flits_as_documented() {
    let s = BridgeShape::new(64, 32, 4);
    assert_eq!((s.unit_bits, s.units_per_beat, s.units_per_flit, s.flit_cycles()), (64, 1, 30, 31));
    let s = BridgeShape::new(1024, 64, 32);
    assert_eq!((s.unit_bits, s.units_per_beat, s.units_per_flit, s.flit_cycles()), (512, 2, 3, 4));
    assert!((s.beats_per_cycle() - 0.375).abs() < 1e-12);
    assert_eq!(BridgeShape::new(40, 32, 3).buffer_flits(), 4);
}
