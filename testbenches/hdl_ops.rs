//! Semantics of the emitter: a module using every operator is simulated under Verilator and
//! Icarus with random inputs and compared with the same operations computed in Rust.

mod common;

use rand::RngExt;
use rand::rngs::StdRng;
use vdx::hdl::{Bits, BlackBox, Conn, Design, Module, ModuleBuilder, Reset, Signal, cat};
use vdx::sim::check::{CycleModel, run_checked};
use vdx::sim::icarus::IcarusSim;
use vdx::sim::verilator::VerilatorDut;
use vdx::sim::{CycleSim, PortLayout};

const WIDE: u32 = 100;

fn mask(width: u32) -> u128 {
    if width >= 128 { u128::MAX } else { (1u128 << width) - 1 }
}

fn sext(v: u128, width: u32) -> i128 {
    let shift = 128 - width;
    ((v << shift) as i128) >> shift
}

/// The outputs of the ops module, computed in Rust from its inputs.
fn expected(a: u128, b: u128, c: u128, sh: u32, sel: bool, w1: u128, w2: u128) -> Vec<(&'static str, u128)> {
    let m16 = mask(16);
    let (sa, sb) = (sext(a, 16), sext(b, 16));
    let rotl = |x: u128, k: u32, w: u32| ((x << (k % w)) | (x >> ((w - k % w) % w))) & mask(w);
    vec![
        ("add_o", (a + b) & m16),
        ("sub_o", a.wrapping_sub(b) & m16),
        ("add_carry_o", a + b),
        ("mul_u_o", a * b),
        ("mul_s_o", (sa * sb) as u128 & mask(32)),
        ("mul_narrow_o", (sext(c, 7) * sext(a & 0x1fff, 13)) as u128 & mask(20)),
        ("logic_o", ((a & b) ^ (a | c)) & m16),
        ("not_neg_o", ((!a & m16) << 16) | (a.wrapping_neg() & m16)),
        (
            "ucmp_o",
            u128::from(a < b) | u128::from(a <= b) << 1 | u128::from(a > b) << 2 | u128::from(a >= b) << 3,
        ),
        (
            "scmp_o",
            u128::from(sa < sb)
                | u128::from(sa <= sb) << 1
                | u128::from(sa > sb) << 2
                | u128::from(sa >= sb) << 3,
        ),
        ("eq_o", u128::from(a == b) | u128::from(a != b) << 1),
        ("shift_const_o", ((a << 3) & m16) | (a >> 5) << 16 | ((sa >> 4) as u128 & m16) << 32),
        ("shift_var_o", ((a << sh) & m16) | (a >> sh) << 16 | ((sa >> sh.min(127)) as u128 & m16) << 32),
        ("rot_o", rotl(a, 5, 16) | rotl(a, 16 - 3, 16) << 16),
        ("rot_var_o", rotl(a, sh, 16) | rotl(a, (16 - sh % 16) % 16, 16) << 16),
        ("slice_cat_o", ((a >> 4) & 0xff) << 9 | (b & 1) << 8 | ((c & 3) * 0x55) & 0xff),
        ("mux_o", if sel { a } else { b }),
        ("ext_o", (sext(c, 7) as u128 & m16) | c << 16 | (sext(a, 16) as u128 & 0xfff) << 32),
        ("reduce_o", u128::from(a == m16) | u128::from(a != 0) << 1 | u128::from(a.count_ones() % 2) << 2),
        ("wide_o", ((w1 + w2) & mask(WIDE)) ^ (w1 << 1 & mask(WIDE))),
        ("wide_cmp_o", u128::from(w1 < w2)),
        ("rot_narrow_o", rotl(a, u32::from(sh as u8 & 3), 16) | rotl(a, (16 - (sh & 3)) % 16, 16) << 16),
        (
            "scmp_expr_o",
            u128::from(sext((a + b) & m16, 16) < sext(a.wrapping_sub(b) & m16, 16))
                | u128::from(sext(!a & m16, 16) >= sext(b >> 1, 16)) << 1,
        ),
    ]
}

fn ops_module() -> Module {
    let m = ModuleBuilder::new("vdx_ops");
    let a = m.input("a_i", 16);
    let b = m.input("b_i", 16);
    let c = m.input("c_i", 7);
    let sh = m.input("sh_i", 5);
    let sel = m.input("sel_i", 1);
    let w1 = m.input("w1_i", WIDE);
    let w2 = m.input("w2_i", WIDE);
    let (sa, sb, sc) = (a.as_signed(), b.as_signed(), c.as_signed());
    let bits4 = |x: [&Signal; 4]| cat(&[x[3], x[2], x[1], x[0]]);
    m.output("add_o", &a.add(&b));
    m.output("sub_o", &a.sub(&b));
    m.output("add_carry_o", &a.add_carry(&b));
    m.output("mul_u_o", &a.mul(&b, 32));
    m.output("mul_s_o", &sa.mul(&sb, 32).as_unsigned());
    m.output("mul_narrow_o", &sc.mul(&a.slice(12, 0).as_signed(), 20).as_unsigned());
    m.output("logic_o", &a.and(&b).xor(&a.or(&c.zext(16))));
    m.output("not_neg_o", &a.not().concat(&a.neg()));
    m.output("ucmp_o", &bits4([&a.lt(&b), &a.le(&b), &a.gt(&b), &a.ge(&b)]));
    m.output("scmp_o", &bits4([&sa.lt(&sb), &sa.le(&sb), &sa.gt(&sb), &sa.ge(&sb)]));
    m.output("eq_o", &a.ne(&b).concat(&a.eq(&b)));
    m.output("shift_const_o", &cat(&[&sa.sra(4), &a.shr(5), &a.shl(3)]));
    m.output("shift_var_o", &cat(&[&sa.sra_by(&sh), &a.shr_by(&sh), &a.shl_by(&sh)]));
    m.output("rot_o", &a.rotr(3).concat(&a.rotl(5)));
    m.output("rot_var_o", &a.rotr_by(&sh).concat(&a.rotl_by(&sh)));
    m.output("slice_cat_o", &cat(&[&a.slice(11, 4), &b.bit(0), &c.slice(1, 0).repeat(4)]));
    m.output("mux_o", &sel.mux(&a, &b));
    m.output("ext_o", &cat(&[&sa.resize(12), &c.zext(16), &sc.sext(16)]));
    m.output("reduce_o", &cat(&[&a.reduce_xor(), &a.reduce_or(), &a.reduce_and()]));
    m.output("wide_o", &w1.add(&w2).xor(&w1.shl(1)));
    m.output("wide_cmp_o", &w1.lt(&w2));
    let narrow = sh.slice(1, 0);
    m.output("rot_narrow_o", &a.rotr_by(&narrow).concat(&a.rotl_by(&narrow)));
    // Signed comparisons of inlined expressions: `$signed(...)` must apply to the whole operand.
    m.output("scmp_expr_o", &sa.not().ge(&sb.shr(1)).concat(&sa.add(&sb).lt(&sa.sub(&sb))));
    m.finish().expect("ops module is well formed")
}

struct OpsBench;

fn random_u128(rng: &mut StdRng, width: u32) -> u128 {
    // Corner values often: all ones, zero, sign bit only.
    match rng.random_range(0..8) {
        0 => mask(width),
        1 => 0,
        2 => 1 << (width - 1),
        _ => rng.random::<u128>() & mask(width),
    }
}

fn set128(layout: &PortLayout, frame: &mut [u32], name: &str, v: u128) {
    let words = [v as u32, (v >> 32) as u32, (v >> 64) as u32, (v >> 96) as u32];
    layout.input(name).unwrap().set_words(frame, &words);
}

fn get128(layout: &PortLayout, frame: &[u32], name: &str, output: bool) -> u128 {
    let slot = if output { layout.output(name) } else { layout.input(name) }.unwrap();
    slot.get_words(frame).iter().rev().fold(0u128, |acc, w| acc << 32 | u128::from(*w))
}

impl CycleModel for OpsBench {
    fn stimulus(&mut self, rng: &mut StdRng, layout: &PortLayout, frame: &mut [u32]) {
        for (name, width) in [("a_i", 16), ("b_i", 16), ("c_i", 7), ("w1_i", WIDE), ("w2_i", WIDE)] {
            set128(layout, frame, name, random_u128(rng, width));
        }
        set128(layout, frame, "sh_i", rng.random_range(0..32));
        set128(layout, frame, "sel_i", rng.random_range(0..2));
    }

    fn check(&mut self, layout: &PortLayout, inputs: &[u32], outputs: &[u32]) -> Result<u64, String> {
        let i = |n| get128(layout, inputs, n, false);
        let want =
            expected(i("a_i"), i("b_i"), i("c_i"), i("sh_i") as u32, i("sel_i") == 1, i("w1_i"), i("w2_i"));
        for (name, value) in &want {
            let got = get128(layout, outputs, name, true);
            if got != *value {
                return Err(format!("{name} = {got:#x}, Rust says {value:#x} (inputs {:x?})", inputs));
            }
        }
        Ok(want.len() as u64)
    }
}

#[test]
fn every_operator_matches_rust_under_verilator() {
    if !common::verilator() {
        return;
    }
    let src = Design::single(&ops_module()).emit().sim_source(0);
    let mut dut = VerilatorDut::build(&src).unwrap();
    let checks = run_checked(&mut dut, &mut OpsBench, 200_000, 11).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(checks, 200_000 * 23);
}

#[test]
fn every_operator_matches_rust_under_icarus() {
    if !common::icarus() {
        return;
    }
    let src = Design::single(&ops_module()).emit().sim_source(0);
    let mut sim = IcarusSim::build(&src).unwrap();
    let checks = run_checked(&mut sim, &mut OpsBench, 3_000, 12).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(checks, 3_000 * 23);
}

/// Registers with enable, memories with synchronous read and a generate loop of instances,
/// against a cycle model written out in Rust.
fn seq_module() -> Module {
    let lane = {
        let m = ModuleBuilder::new("vdx_acc_lane");
        let en = m.input("en_i", 1);
        let x = m.input("x_i", 8);
        let acc = m.reg("acc", 8, Reset::Value(0x5a));
        m.next_when(&acc, &en, &acc.add(&x));
        m.output("acc_o", &acc);
        m.finish().unwrap()
    };
    let m = ModuleBuilder::new("vdx_seq");
    let en = m.input("en_i", 1);
    let x = m.input("x_i", 32);
    let we = m.input("we_i", 1);
    let addr = m.input("addr_i", 3);
    let mem = m.memory("store", 32, 8);
    mem.write(&we, &addr, &x);
    let rdata = mem.read(&we.not(), &addr);
    m.output("rdata_o", &rdata);
    let lanes =
        m.instance_array("u_lane", &lane, 4, &[("en_i", Conn::All(en.clone())), ("x_i", Conn::Each(x))]);
    m.output("acc_o", &lanes.output("acc_o"));
    // Six entries behind a 3-bit address: the two missing ones read as 0.
    let table: Vec<Bits> = (0..6).map(|i| Bits::from_u64(rom_entry(i), 20)).collect();
    m.output("rom_o", &m.rom("lut", &en, &addr, &table));
    m.finish().unwrap()
}

fn rom_entry(i: u64) -> u64 {
    if i < 6 { (i * 0x3_1415 + 0x9_2653) & 0xf_ffff } else { 0 }
}

#[derive(Default)]
struct SeqBench {
    mem: [Option<u32>; 8],
    rdata: u32,
    acc: [u8; 4],
    rom: u64,
}

impl CycleModel for SeqBench {
    fn stimulus(&mut self, rng: &mut StdRng, layout: &PortLayout, frame: &mut [u32]) {
        set128(layout, frame, "rst_ni", u128::from(rng.random_range(0..500) != 0));
        set128(layout, frame, "en_i", rng.random_range(0..2));
        set128(layout, frame, "x_i", rng.random::<u32>().into());
        set128(layout, frame, "we_i", u128::from(rng.random_range(0..3) == 0));
        set128(layout, frame, "addr_i", rng.random_range(0..8));
    }

    fn check(&mut self, layout: &PortLayout, inputs: &[u32], outputs: &[u32]) -> Result<u64, String> {
        let i = |n| get128(layout, inputs, n, false);
        if i("rst_ni") == 0 {
            self.rdata = 0;
            self.acc = [0x5a; 4];
            self.rom = 0;
        }
        let got_rom = get128(layout, outputs, "rom_o", true) as u64;
        if got_rom != self.rom {
            return Err(format!("rom_o = {got_rom:#x}, model {:#x}", self.rom));
        }
        let got_acc = get128(layout, outputs, "acc_o", true) as u32;
        let want_acc = u32::from_le_bytes(self.acc);
        if got_acc != want_acc {
            return Err(format!("acc_o = {got_acc:#x}, model {want_acc:#x}"));
        }
        let got_rdata = get128(layout, outputs, "rdata_o", true) as u32;
        if got_rdata != self.rdata {
            return Err(format!("rdata_o = {got_rdata:#x}, model {:#x}", self.rdata));
        }
        let (addr, x) = (i("addr_i") as usize, i("x_i") as u32);
        // The memory array has no reset (it models an SRAM macro): it is written during reset too.
        if i("we_i") == 1 {
            self.mem[addr] = Some(x);
        }
        if i("rst_ni") == 1 {
            if i("we_i") == 0 {
                // Reading a word never written gives X in Icarus: the stimulus never relies on it.
                self.rdata = self.mem[addr].unwrap_or(0);
            }
            if i("en_i") == 1 {
                self.rom = rom_entry(addr as u64);
                for (k, acc) in self.acc.iter_mut().enumerate() {
                    *acc = acc.wrapping_add(x.to_le_bytes()[k]);
                }
            }
        }
        Ok(3)
    }
}

/// Writes every memory word once before random traffic, so no simulator reads X.
fn run_seq(sim: &mut dyn CycleSim, cycles: u64, seed: u64) {
    let layout = sim.layout().clone();
    let mut frames = vec![0u32; 9 * layout.in_words];
    let mut bench = SeqBench::default();
    for (k, frame) in frames.chunks_exact_mut(layout.in_words).enumerate() {
        set128(&layout, frame, "rst_ni", u128::from(k > 0));
        set128(&layout, frame, "we_i", 1);
        set128(&layout, frame, "addr_i", (k as u128).saturating_sub(1));
        set128(&layout, frame, "x_i", 0x1000 + k as u128);
    }
    let mut outputs = vec![0u32; 9 * layout.out_words];
    sim.run(&frames, &mut outputs).unwrap();
    for (inp, out) in frames.chunks_exact(layout.in_words).zip(outputs.chunks_exact(layout.out_words)) {
        bench.check(&layout, inp, out).unwrap();
    }
    let checks = run_checked(sim, &mut bench, cycles, seed).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(checks, 3 * cycles);
}

#[test]
fn registers_memories_and_generate_loops_under_verilator() {
    if !common::verilator() {
        return;
    }
    let src = Design::single(&seq_module()).emit().sim_source(0);
    run_seq(&mut VerilatorDut::build(&src).unwrap(), 100_000, 5);
}

#[test]
fn registers_memories_and_generate_loops_under_icarus() {
    if !common::icarus() {
        return;
    }
    let src = Design::single(&seq_module()).emit().sim_source(0);
    run_seq(&mut IcarusSim::build(&src).unwrap(), 3_000, 6);
}

#[test]
fn test_modules_are_lint_clean() {
    for module in [ops_module(), seq_module()] {
        common::assert_lint_clean(&Design::single(&module).emit());
    }
}

/// Shapes that once broke the emitter: a generate loop of one instance with 1-bit ports (scalar
/// nets cannot be part-selected), a wire named like a genvar, a wire named like an instance, and
/// an array and a single instance that share a role name.
fn edge_module() -> Module {
    let bit = {
        let m = ModuleBuilder::new("vdx_toggle");
        let b = m.input("b_i", 1);
        let q = m.reg("q", 1, Reset::Zero);
        m.next(&q, &q.xor(&b));
        m.output("q_o", &q);
        m.output("nb_o", &b.not());
        m.finish().unwrap()
    };
    let m = ModuleBuilder::new("vdx_edges");
    let x = m.input("x_i", 1);
    let y = m.input("y_i", 4);
    let gi_one = x.not().named("gi_one");
    let one = m.instance_array("u_one", &bit, 1, &[("b_i", Conn::Each(gi_one.clone()))]);
    let many = m.instance_array("u_d", &bit, 4, &[("b_i", Conn::All(gi_one))]);
    let single = m.instance("d", &bit, &[("b_i", &y.bit(0).named("u_d"))]);
    m.output("one_q_o", &one.output("q_o"));
    m.output("one_nb_o", &one.output("nb_o"));
    m.output("many_q_o", &many.output("q_o"));
    m.output("single_nb_o", &single.output("nb_o"));
    m.finish().unwrap()
}

#[derive(Default)]
struct EdgeBench {
    one: bool,
    many: bool,
    started: bool,
}

impl CycleModel for EdgeBench {
    fn stimulus(&mut self, rng: &mut StdRng, layout: &PortLayout, frame: &mut [u32]) {
        // Reset in the first cycle: registers hold X until then in Icarus.
        let reset = !self.started || rng.random_range(0..100) == 0;
        self.started = true;
        set128(layout, frame, "rst_ni", u128::from(!reset));
        set128(layout, frame, "x_i", rng.random_range(0..2));
        set128(layout, frame, "y_i", rng.random_range(0..16));
    }

    fn check(&mut self, layout: &PortLayout, inputs: &[u32], outputs: &[u32]) -> Result<u64, String> {
        let i = |n| get128(layout, inputs, n, false);
        if i("rst_ni") == 0 {
            (self.one, self.many) = (false, false);
        }
        let want = [
            ("one_q_o", u128::from(self.one)),
            ("one_nb_o", i("x_i")),
            ("many_q_o", if self.many { 0xf } else { 0 }),
            ("single_nb_o", 1 - (i("y_i") & 1)),
        ];
        for (name, value) in want {
            let got = get128(layout, outputs, name, true);
            if got != value {
                return Err(format!("{name} = {got}, model {value}"));
            }
        }
        if i("rst_ni") == 1 && i("x_i") == 0 {
            self.one = !self.one;
            self.many = !self.many;
        }
        Ok(want.len() as u64)
    }
}

#[test]
fn edge_shapes_simulate_on_both_simulators_and_lint_clean() {
    let emitted = Design::single(&edge_module()).emit();
    common::assert_lint_clean(&emitted);
    let src = emitted.sim_source(0);
    if common::verilator() {
        let mut dut = VerilatorDut::build(&src).unwrap();
        run_checked(&mut dut, &mut EdgeBench::default(), 20_000, 8).unwrap_or_else(|e| panic!("{e:?}"));
    }
    if common::icarus() {
        let mut sim = IcarusSim::build(&src).unwrap();
        run_checked(&mut sim, &mut EdgeBench::default(), 2_000, 9).unwrap_or_else(|e| panic!("{e:?}"));
    }
}

/// A single-port SRAM with synchronous read, built from the memory primitive: the behavioural
/// model of the black box below.
fn sram_model() -> Module {
    let m = ModuleBuilder::new("vdx_sram_model");
    let req = m.input("req_i", 1);
    let we = m.input("we_i", 1);
    let addr = m.input("addr_i", 6);
    let wdata = m.input("wdata_i", 16);
    let mem = m.memory("mem", 16, 64);
    mem.write(&req.and(&we), &addr, &wdata);
    m.output("rdata_o", &mem.read(&req.and(&we.not()), &addr));
    m.finish().unwrap()
}

/// A top around an SRAM macro known by name only: one instance and a generate loop of two
/// (each with its own half of a 32-bit write word), all sharing request, write and address.
fn sram_top() -> Module {
    let sram = BlackBox::new("sram_sp_64x16")
        .clock("clk_i")
        .reset_n("rst_ni")
        .input("req_i", 1)
        .input("we_i", 1)
        .input("addr_i", 6)
        .input("wdata_i", 16)
        .output("rdata_o", 16)
        .model(&sram_model())
        .finish()
        .unwrap();
    let m = ModuleBuilder::new("vdx_sram_top");
    let req = m.input("req_i", 1);
    let we = m.input("we_i", 1);
    let addr = m.input("addr_i", 6);
    let wdata = m.input("wdata_i", 32);
    let single = m.instance(
        "u_sram",
        &sram,
        &[("req_i", &req), ("we_i", &we), ("addr_i", &addr), ("wdata_i", &wdata.slice(15, 0))],
    );
    let banks = m.instance_array(
        "u_bank",
        &sram,
        2,
        &[
            ("req_i", Conn::All(req)),
            ("we_i", Conn::All(we)),
            ("addr_i", Conn::All(addr)),
            ("wdata_i", Conn::Each(wdata.not())),
        ],
    );
    m.output("rdata_o", &single.output("rdata_o"));
    m.output("bank_rdata_o", &banks.output("rdata_o"));
    m.finish().unwrap()
}

/// Writes every word, reads every word back, then random traffic; checks read data against a
/// Rust model of the SRAMs.
#[derive(Default)]
struct SramBench {
    cycle: u64,
    mem: Vec<u32>,
    rdata: u16,
    bank_rdata: u32,
    readbacks: u64,
}

impl CycleModel for SramBench {
    fn stimulus(&mut self, rng: &mut StdRng, layout: &PortLayout, frame: &mut [u32]) {
        let c = self.cycle;
        self.cycle += 1;
        let (req, we, addr, wdata): (u8, u8, u64, u32) = match c {
            0 => (0, 0, 0, 0),
            1..=64 => (1, 1, c - 1, 0x5a00_0000 | (c * 0x0101_0203) as u32),
            65..=128 => (1, 0, 128 - c, rng.random()),
            _ => {
                (rng.random_range(0..4).min(1), rng.random_range(0..2), rng.random_range(0..64), rng.random())
            }
        };
        set128(layout, frame, "rst_ni", u128::from(c > 0));
        set128(layout, frame, "req_i", req.into());
        set128(layout, frame, "we_i", we.into());
        set128(layout, frame, "addr_i", addr.into());
        set128(layout, frame, "wdata_i", u128::from(wdata));
    }

    fn check(&mut self, layout: &PortLayout, inputs: &[u32], outputs: &[u32]) -> Result<u64, String> {
        let i = |n| get128(layout, inputs, n, false);
        if self.mem.is_empty() {
            self.mem = vec![0; 64];
        }
        if i("rst_ni") == 0 {
            (self.rdata, self.bank_rdata) = (0, 0);
        }
        let got = (get128(layout, outputs, "rdata_o", true), get128(layout, outputs, "bank_rdata_o", true));
        if got != (u128::from(self.rdata), u128::from(self.bank_rdata)) {
            return Err(format!("read data {got:x?}, model ({:#x}, {:#x})", self.rdata, self.bank_rdata));
        }
        let (req, we, addr, wdata) =
            (i("req_i") == 1, i("we_i") == 1, i("addr_i") as usize, i("wdata_i") as u32);
        if req && we {
            self.mem[addr] = wdata;
        }
        if req && !we && i("rst_ni") == 1 {
            let word = self.mem[addr];
            self.rdata = word as u16;
            self.bank_rdata = !word;
            self.readbacks += 1;
        }
        Ok(2)
    }
}

#[test]
fn sram_black_box_with_its_model_writes_and_reads_back() {
    let emitted = Design::single(&sram_top()).emit();
    let top = &emitted.tops[0];
    assert_eq!(top.files, [format!("{}.v", top.module)], "synthesis gets the top only");
    assert!(!emitted.filelist(top).contains("sram_sp_64x16"));
    assert_eq!(top.sim_models, ["sram_sp_64x16.v"]);
    let src = emitted.sim_source(0);
    assert!(src.files.iter().any(|f| f.name == "sram_sp_64x16.v"));
    common::assert_sim_lint_clean(&src);
    if common::verilator() {
        let mut dut = VerilatorDut::build(&src).unwrap();
        let mut bench = SramBench::default();
        let checks = run_checked(&mut dut, &mut bench, 50_000, 21).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(checks, 100_000);
        assert!(bench.readbacks > 64 + 10_000, "{}", bench.readbacks);
    }
    if common::icarus() {
        let mut sim = IcarusSim::build(&src).unwrap();
        run_checked(&mut sim, &mut SramBench::default(), 1_000, 22).unwrap_or_else(|e| panic!("{e:?}"));
    }
}
