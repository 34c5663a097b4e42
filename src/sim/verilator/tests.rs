//! Tests against hand-written fixtures (no generator is involved, so a failure here is the
//! simulator plumbing's).

use super::*;
use crate::hdl::{PortDir, PortSpec};
use crate::sim::{SimError, SimSource, VerilogFile};
use std::time::Instant;

/// Counter with async active-low reset and enable, plus pass-through ports of 100, 64 and 1 bits
/// that mix in the count so every port depends on state.
pub(crate) const CTR_V: &str = r#"module ctr (
  input  wire         clk_i,
  input  wire         rst_ni,
  input  wire         en_i,
  input  wire [99:0]  wide_i,
  input  wire [63:0]  q_i,
  input  wire         bit_i,
  output reg  [15:0]  count_o,
  output wire [99:0]  wide_o,
  output wire [63:0]  q_o,
  output wire         bit_o
);
  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) count_o <= 16'd0;
    else if (en_i) count_o <= count_o + 16'd1;
  end
  assign wide_o = wide_i ^ {4'b0, {6{count_o}}};
  assign q_o = q_i + {48'd0, count_o};
  assign bit_o = bit_i ^ count_o[0];
endmodule
"#;

const MAC8_V: &str = r#"module mac8 (
  input  wire        clk_i,
  input  wire        rst_ni,
  input  wire [7:0]  a_i,
  input  wire [7:0]  b_i,
  output reg  [31:0] acc_o
);
  wire [15:0] prod = {8'd0, a_i} * {8'd0, b_i};
  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) acc_o <= 32'd0;
    else acc_o <= acc_o + {16'd0, prod};
  end
endmodule
"#;

const XOR40_V: &str = r#"module xor40 (
  input  wire [39:0] a_i,
  input  wire [39:0] b_i,
  output wire [39:0] y_o
);
  assign y_o = a_i ^ b_i;
endmodule
"#;

/// A chain of two accumulators, each a Verilator hierarchical block (the control file below): a
/// model with scopes, as every model of a large generated array is.
const HIER_V: &str = r#"module hier_cell (
  input  wire       clk_i,
  input  wire       rst_ni,
  input  wire [7:0] d_i,
  output reg  [7:0] q_o
);
  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) q_o <= 8'd0;
    else q_o <= q_o + d_i;
  end
endmodule

module hier_top (
  input  wire       clk_i,
  input  wire       rst_ni,
  input  wire [7:0] d_i,
  output wire [7:0] q_o
);
  wire [7:0] mid;
  hier_cell u_first (.clk_i(clk_i), .rst_ni(rst_ni), .d_i(d_i), .q_o(mid));
  hier_cell u_second (.clk_i(clk_i), .rst_ni(rst_ni), .d_i(mid), .q_o(q_o));
endmodule
"#;

pub(crate) fn hier_source() -> SimSource {
    use PortDir::{Input, Output};
    let mut src = source(
        "hier_top",
        HIER_V,
        vec![
            port("clk_i", Input, 1),
            port("rst_ni", Input, 1),
            port("d_i", Input, 8),
            port("q_o", Output, 8),
        ],
    );
    src.files.push(VerilogFile {
        name: "hier_top.vlt".into(),
        text: "`verilator_config\nhier_block -module \"hier_cell\"\n".into(),
    });
    src
}

fn port(name: &str, dir: PortDir, width: u32) -> PortSpec {
    PortSpec { name: name.into(), dir, width, signed: false }
}

fn source(top: &str, text: &str, ports: Vec<PortSpec>) -> SimSource {
    SimSource {
        top: top.into(),
        files: vec![VerilogFile { name: format!("{top}.v"), text: text.into() }],
        ports,
    }
}

/// The counter fixture.
pub(crate) fn ctr_source() -> SimSource {
    use PortDir::{Input, Output};
    source(
        "ctr",
        CTR_V,
        vec![
            port("clk_i", Input, 1),
            port("rst_ni", Input, 1),
            port("en_i", Input, 1),
            port("wide_i", Input, 100),
            port("q_i", Input, 64),
            port("bit_i", Input, 1),
            port("count_o", Output, 16),
            port("wide_o", Output, 100),
            port("q_o", Output, 64),
            port("bit_o", Output, 1),
        ],
    )
}

fn mac8_source() -> SimSource {
    use PortDir::{Input, Output};
    source(
        "mac8",
        MAC8_V,
        vec![
            port("clk_i", Input, 1),
            port("rst_ni", Input, 1),
            port("a_i", Input, 8),
            port("b_i", Input, 8),
            port("acc_o", Output, 32),
        ],
    )
}

fn xor40_source() -> SimSource {
    use PortDir::{Input, Output};
    source("xor40", XOR40_V, vec![port("a_i", Input, 40), port("b_i", Input, 40), port("y_o", Output, 40)])
}

/// False (skip) only when Verilator is missing and `VDX_SKIP_COSIM=1`; panics when it is missing
/// otherwise, so CI cannot pass by silently not simulating.
pub(crate) fn have_verilator() -> bool {
    crate::sim::require_tool("verilator", "verilator").unwrap().is_some()
}

/// SplitMix64: deterministic stimulus without depending on an RNG crate's API.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// Random counter input frames: raw words (upper bits not masked, to test the shim's masking),
/// reset low ~3% of cycles, enable ~75%.
pub(crate) fn ctr_frames(seed: u64, cycles: usize) -> Vec<u32> {
    let mut rng = Rng(seed);
    let mut f = Vec::with_capacity(cycles * 9);
    for _ in 0..cycles {
        let r = rng.next();
        let rst_n = u32::from(!r.is_multiple_of(32)) | ((r >> 40) as u32 & !1);
        let en = u32::from(!(r >> 8).is_multiple_of(4)) | ((r >> 20) as u32 & !1);
        f.push(rst_n);
        f.push(en);
        for _ in 0..4 {
            f.push(rng.next() as u32);
        }
        let q = rng.next();
        f.push(q as u32);
        f.push((q >> 32) as u32);
        f.push(rng.next() as u32);
    }
    f
}

/// Golden model of `ctr`, in frame terms (input frame of 9 words, output frame of 8).
#[derive(Default)]
struct CtrModel {
    count: u16,
}

impl CtrModel {
    fn cycle(&mut self, i: &[u32]) -> [u32; 8] {
        let (rst_n, en) = (i[0] & 1 == 1, i[1] & 1 == 1);
        if !rst_n {
            self.count = 0;
        }
        let c = u32::from(self.count);
        let rep = c | (c << 16);
        let q = (u64::from(i[6]) | (u64::from(i[7]) << 32)).wrapping_add(u64::from(c));
        let out =
            [c, i[2] ^ rep, i[3] ^ rep, i[4] ^ rep, i[5] & 0xf, q as u32, (q >> 32) as u32, (i[8] ^ c) & 1];
        if rst_n && en {
            self.count = self.count.wrapping_add(1);
        }
        out
    }
}

/// Drives `dut` one port call at a time from input frames, collecting output frames.
pub(crate) fn run_per_call(dut: &mut VerilatorDut, inputs: &[u32]) -> Vec<u32> {
    let layout = dut.layout().clone();
    let cycles = inputs.len() / layout.in_words;
    let mut out = vec![0u32; cycles * layout.out_words];
    for c in 0..cycles {
        let frame = &inputs[c * layout.in_words..(c + 1) * layout.in_words];
        for s in &layout.inputs {
            if s.words > 2 {
                dut.poke_words(&s.name, s.get_words(frame)).unwrap();
            } else {
                dut.poke(&s.name, s.get(frame)).unwrap();
            }
        }
        let oframe = &mut out[c * layout.out_words..(c + 1) * layout.out_words];
        for s in &layout.outputs {
            if s.words > 2 {
                let w = dut.peek_words(&s.name).unwrap();
                s.set_words(oframe, &w);
            } else {
                let v = dut.peek(&s.name).unwrap();
                s.set(oframe, v);
            }
        }
        dut.step();
    }
    out
}

#[test]
fn poke_peek_step_follow_the_golden_model() {
    if !have_verilator() {
        return;
    }
    let t = Instant::now();
    let mut dut = VerilatorDut::build(&ctr_source()).unwrap();
    eprintln!("ctr build: {:?}", t.elapsed());
    let frames = ctr_frames(1, 3000);
    let mut model = CtrModel::default();
    for (c, frame) in frames.chunks(9).enumerate() {
        dut.poke("rst_ni", u64::from(frame[0])).unwrap();
        dut.poke("en_i", u64::from(frame[1])).unwrap();
        dut.poke_words("wide_i", &frame[2..6]).unwrap();
        dut.poke("q_i", u64::from(frame[6]) | (u64::from(frame[7]) << 32)).unwrap();
        dut.poke("bit_i", u64::from(frame[8])).unwrap();
        let want = model.cycle(frame);
        assert_eq!(dut.peek("count_o").unwrap(), u64::from(want[0]), "count_o, cycle {c}");
        assert_eq!(dut.peek_words("wide_o").unwrap(), want[1..5].to_vec(), "wide_o, cycle {c}");
        assert_eq!(
            dut.peek("wide_o").unwrap(),
            u64::from(want[1]) | (u64::from(want[2]) << 32),
            "wide_o low 64, cycle {c}"
        );
        assert_eq!(
            dut.peek("q_o").unwrap(),
            u64::from(want[5]) | (u64::from(want[6]) << 32),
            "q_o, cycle {c}"
        );
        assert_eq!(dut.peek("bit_o").unwrap(), u64::from(want[7]), "bit_o, cycle {c}");
        dut.step();
    }
    assert_eq!(dut.cycles_run(), 3000);
}

#[test]
fn batched_run_equals_per_call_and_golden_model() {
    if !have_verilator() {
        return;
    }
    let src = ctr_source();
    let frames = ctr_frames(2, 2500);
    let mut batched = VerilatorDut::build(&src).unwrap();
    let mut out = vec![0u32; 2500 * 8];
    // Two batches: state must carry over between calls.
    let (in_a, in_b) = frames.split_at(1000 * 9);
    let (out_a, out_b) = out.split_at_mut(1000 * 8);
    batched.run(in_a, out_a).unwrap();
    batched.run(in_b, out_b).unwrap();
    assert_eq!(batched.cycles_run(), 2500);

    let mut per_call = VerilatorDut::build(&src).unwrap();
    let out_per_call = run_per_call(&mut per_call, &frames);

    let mut model = CtrModel::default();
    let golden: Vec<u32> = frames.chunks(9).flat_map(|f| model.cycle(f)).collect();
    assert_eq!(out, golden, "batched vs golden");
    assert_eq!(out_per_call, golden, "per-call vs golden");

    // Per-call and batched runs can also be mixed on one instance.
    batched.poke("rst_ni", 1).unwrap();
    batched.poke("en_i", 1).unwrap();
    let before = batched.peek("count_o").unwrap();
    batched.step();
    assert_eq!(batched.peek("count_o").unwrap(), (before + 1) & 0xffff);
}

#[test]
fn wide_ports_round_trip() {
    if !have_verilator() {
        return;
    }
    let mut dut = VerilatorDut::build(&ctr_source()).unwrap();
    dut.poke("en_i", 0).unwrap();
    dut.reset();
    assert_eq!(dut.peek("count_o").unwrap(), 0);
    let words = [0xdead_beef, 0x0123_4567, 0x89ab_cdef, 0xffff_ffff, 0x5555_5555];
    dut.poke_words("wide_i", &words).unwrap();
    // With count 0 the output is the input, truncated to 100 bits; the fifth word is ignored.
    assert_eq!(dut.peek_words("wide_o").unwrap(), vec![0xdead_beef, 0x0123_4567, 0x89ab_cdef, 0xf]);
    assert_eq!(dut.peek("wide_o").unwrap(), 0x0123_4567_dead_beef);
    // A u64 poke into a wide port clears the words above 64 bits.
    dut.poke("wide_i", u64::MAX).unwrap();
    assert_eq!(dut.peek_words("wide_o").unwrap(), vec![u32::MAX, u32::MAX, 0, 0]);
    dut.poke("q_i", u64::MAX).unwrap();
    assert_eq!(dut.peek("q_o").unwrap(), u64::MAX);
    dut.poke("bit_i", 3).unwrap();
    assert_eq!(dut.peek("bit_o").unwrap(), 1, "pokes are truncated to the port width");
}

#[test]
fn unknown_ports_are_named_in_the_error() {
    if !have_verilator() {
        return;
    }
    let mut dut = VerilatorDut::build(&ctr_source()).unwrap();
    let e = dut.poke("nope_i", 1).unwrap_err();
    assert!(matches!(e, SimError::UnknownPort { .. }), "{e:?}");
    let text = e.to_string();
    assert!(text.contains("`nope_i`") && text.contains("`ctr`"), "{text}");
    assert!(text.contains("rst_ni, en_i, wide_i, q_i, bit_i"), "{text}");
    let text = dut.peek("en_i").unwrap_err().to_string();
    assert!(text.contains("no output port `en_i`"), "{text}");
    let text = dut.poke("clk_i", 1).unwrap_err().to_string();
    assert!(text.contains("no input port `clk_i`"), "{text}");
    assert!(dut.peek_words("count").is_err());
    assert!(dut.poke_words("wide_o", &[1]).is_err());
    let e = dut.run(&[0; 10], &mut [0; 8]).unwrap_err();
    assert!(matches!(e, SimError::BadBuffer { what: "input", .. }), "{e:?}");
    let e = dut.run(&[0; 18], &mut [0; 8]).unwrap_err();
    assert!(matches!(e, SimError::BadBuffer { what: "output", .. }), "{e:?}");
}

#[test]
fn second_build_is_a_cache_hit() {
    if !have_verilator() {
        return;
    }
    let src = ctr_source();
    let first = VerilatorDut::build(&src).unwrap();
    let lib = first.library_path().to_path_buf();
    let built_at = std::fs::metadata(&lib).unwrap().modified().unwrap();
    drop(first);
    let second = VerilatorDut::build(&src).unwrap();
    assert_eq!(second.library_path(), lib, "the same cached model is used");
    assert_eq!(std::fs::metadata(&lib).unwrap().modified().unwrap(), built_at, "nothing was rebuilt");
    let mut other = src.clone();
    other.files[0].text.push_str("// a comment changes the hash\n");
    assert_ne!(VerilatorDut::build(&other).unwrap().library_path(), lib, "other Verilog, other model");
}

#[test]
fn different_models_and_instances_coexist() {
    if !have_verilator() {
        return;
    }
    let mut ctr = VerilatorDut::build(&ctr_source()).unwrap();
    let mut mac = VerilatorDut::build(&mac8_source()).unwrap();
    let mut mac2 = VerilatorDut::build(&mac8_source()).unwrap();
    let mut xor = VerilatorDut::build(&xor40_source()).unwrap();
    assert!(!xor.layout().has_clock);
    ctr.reset();
    mac.reset();
    mac2.reset();
    ctr.poke("en_i", 1).unwrap();
    let mut acc: u32 = 0;
    let mut rng = Rng(3);
    for c in 0..200u64 {
        let (a, b) = (rng.next() & 0xff, rng.next() & 0xff);
        mac.poke("a_i", a).unwrap();
        mac.poke("b_i", b).unwrap();
        mac2.poke("a_i", 1).unwrap();
        mac2.poke("b_i", 2).unwrap();
        assert_eq!(mac.peek("acc_o").unwrap(), u64::from(acc));
        assert_eq!(mac2.peek("acc_o").unwrap(), 2 * c);
        assert_eq!(ctr.peek("count_o").unwrap(), c);
        let (x, y) = (rng.next(), rng.next());
        xor.poke("a_i", x).unwrap();
        xor.poke("b_i", y).unwrap();
        assert_eq!(xor.peek("y_o").unwrap(), (x ^ y) & 0xff_ffff_ffff);
        acc = acc.wrapping_add((a * b) as u32);
        mac.step();
        mac2.step();
        ctr.step();
        xor.step();
    }
    // A clockless module runs batched too: each cycle is just a settle.
    let inputs = [1, 0, 2, 0, 0xffff_ffff, 0xff, 0, 0x1ff];
    let mut out = [0u32; 4];
    xor.run(&inputs, &mut out).unwrap();
    // 0x1ff in the top word of b_i is masked to 40 bits, so it cancels a_i's 0xff.
    assert_eq!(out, [3, 0, 0xffff_ffff, 0]);
}

#[test]
fn an_instance_can_move_to_another_thread() {
    if !have_verilator() {
        return;
    }
    let mut dut = VerilatorDut::build(&mac8_source()).unwrap();
    dut.reset();
    dut.poke("a_i", 3).unwrap();
    dut.poke("b_i", 5).unwrap();
    dut.step();
    let got = std::thread::spawn(move || {
        dut.step();
        dut.peek("acc_o").unwrap()
    })
    .join()
    .unwrap();
    assert_eq!(got, 30);
}

/// The VCD identifier code of the first variable called `name`.
fn vcd_id<'a>(vcd: &'a str, name: &str) -> &'a str {
    vcd.lines()
        .filter(|l| l.trim_start().starts_with("$var"))
        .find_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.get(4) == Some(&name)).then(|| f[3])
        })
        .unwrap_or_else(|| panic!("no $var {name} in VCD"))
}

#[test]
fn write_vcd_replays_the_recorded_run() {
    if !have_verilator() {
        return;
    }
    let mut dut = VerilatorDut::build(&ctr_source()).unwrap();
    dut.reset();
    dut.poke("en_i", 1).unwrap();
    for _ in 0..5 {
        dut.step();
    }
    let frames = ctr_frames(4, 20);
    let mut out = vec![0u32; 20 * 8];
    dut.run(&frames, &mut out).unwrap();
    dut.poke("rst_ni", 1).unwrap();
    dut.poke("en_i", 1).unwrap();
    for _ in 0..3 {
        dut.step();
    }
    let final_count = dut.peek("count_o").unwrap();

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub").join("ctr.vcd");
    let t = Instant::now();
    dut.write_vcd(&path).unwrap();
    eprintln!("write_vcd (incl. trace build if cold): {:?}", t.elapsed());
    let vcd = std::fs::read_to_string(&path).unwrap();
    let (header, body) = vcd.split_once("$enddefinitions").expect("$enddefinitions");
    let clk = vcd_id(header, "clk_i");
    let toggles = |v: char| body.lines().filter(|l| *l == format!("{v}{clk}")).count();
    // 1 reset + 5 + 20 + 3 cycles, each with a rising and a falling edge.
    assert_eq!(toggles('1'), 29, "rising edges of clk_i");
    assert!(toggles('0') >= 28, "falling edges of clk_i");
    // The last value dumped for count_o is the final count of the live run.
    let count = vcd_id(header, "count_o");
    let last = body
        .lines()
        .rev()
        .find(|l| l.starts_with('b') && l.ends_with(&format!(" {count}")))
        .expect("count_o value changes");
    let bits = last[1..].split_whitespace().next().unwrap();
    assert_eq!(u64::from_str_radix(bits, 2).unwrap(), final_count, "{last}");

    let e = dut.mismatch_in(dir.path(), 7, "count_o differs at cycle 3".into(), u64::MAX);
    let SimError::Mismatch { what, seed, vcd } = &e else { panic!("{e:?}") };
    assert_eq!((what.as_str(), *seed), ("count_o differs at cycle 3", 7));
    assert!(vcd.ends_with("ctr_seed7.vcd") && vcd.is_file(), "{}", vcd.display());
    assert!(e.to_string().contains("seed 7"));

    let blocked = dir.path().join("file");
    std::fs::write(&blocked, "").unwrap();
    let e = dut.mismatch_in(&blocked, 8, "x".into(), u64::MAX);
    assert!(e.to_string().contains("no waveform"), "{e}");
}

#[test]
fn tool_failures_carry_the_command_and_output() {
    if !have_verilator() {
        return;
    }
    let mut src = mac8_source();
    src.files[0].text = src.files[0].text.replace("endmodule", "oops endmodule");
    let e = VerilatorDut::build(&src).unwrap_err();
    let SimError::ToolFailed { tool, command, output, .. } = &e else { panic!("{e:?}") };
    assert_eq!(tool, "verilator");
    assert!(command.contains("--top-module mac8"), "{command}");
    assert!(output.contains("mac8.v"), "{output}");
}

#[test]
fn port_lists_are_checked_against_the_verilog() {
    if !have_verilator() {
        return;
    }
    let mut src = mac8_source();
    src.ports[2].width = 9;
    src.ports.pop();
    let text = VerilatorDut::build(&src).unwrap_err().to_string();
    assert!(text.contains("`a_i`: SimSource says 9 input, the Verilog has 8-bit input"), "{text}");
    assert!(text.contains("32-bit output `acc_o`, missing from SimSource"), "{text}");
    let mut src = mac8_source();
    src.ports[2].name = "a__i".into();
    assert!(VerilatorDut::build(&src).unwrap_err().to_string().contains("a__i"));
}

/// A private cache root for tests that corrupt cache entries, so that no other test (and no other
/// process) can load what they break.
fn private_cache() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::Builder::new().prefix("vdx-cache-test-").tempdir().unwrap();
    let root = prepare_root(dir.path()).unwrap();
    (dir, root)
}

/// Resets `dut` (a `mac8`), accumulates 3*5 and 7*9, and returns the sum.
fn mac8_sum(dut: &mut VerilatorDut) -> u64 {
    dut.reset();
    for (a, b) in [(3, 5), (7, 9)] {
        dut.poke("a_i", a).unwrap();
        dut.poke("b_i", b).unwrap();
        dut.step();
    }
    dut.peek("acc_o").unwrap()
}

#[test]
fn a_truncated_cached_library_is_rebuilt_not_loaded() {
    if !have_verilator() {
        return;
    }
    let (_dir, root) = private_cache();
    let src = mac8_source();
    // Built but never loaded into this process, so truncating it cannot hit a live mapping.
    let lib = Model::get(&src, false, &root).unwrap().lib_path();
    let len = std::fs::metadata(&lib).unwrap().len();
    std::fs::File::options().write(true).open(&lib).unwrap().set_len(len / 2).unwrap();
    // Before the cache verified its entries, this load died with SIGBUS.
    let mut dut = VerilatorDut::build_in(&src, &root).unwrap();
    assert_eq!(mac8_sum(&mut dut), 3 * 5 + 7 * 9);
    assert_eq!(dut.library_path(), lib, "rebuilt in place");
    assert!(std::fs::metadata(&lib).unwrap().len() > len / 2);
}

#[test]
fn an_empty_runtime_object_is_rebuilt_before_linking() {
    if !have_verilator() {
        return;
    }
    let (_dir, root) = private_cache();
    Model::get(&ctr_source(), false, &root).unwrap();
    let runtime: Vec<PathBuf> = std::fs::read_dir(root.join("runtime"))
        .unwrap()
        .map(|e| e.unwrap().path().join("verilated.o"))
        .filter(|p| p.is_file())
        .collect();
    assert_eq!(runtime.len(), 1, "{runtime:?}");
    std::fs::write(&runtime[0], b"").unwrap();
    // Before, the empty object linked (ld reads it as an empty linker script) into a model that
    // was cached and then failed to load with only "dlopen failed", forever.
    let mut dut = VerilatorDut::build_in(&mac8_source(), &root).unwrap();
    assert_eq!(mac8_sum(&mut dut), 3 * 5 + 7 * 9);
    assert!(std::fs::metadata(&runtime[0]).unwrap().len() > 0, "the runtime object was rebuilt");
}

#[test]
fn entry_checks_say_what_is_wrong() {
    use super::model::{Record, Verdict, check_entry};
    let dir = tempfile::tempdir().unwrap();
    let entry = dir.path().join("e");
    assert_eq!(check_entry(&entry, &["lib"]), Verdict::Absent);
    std::fs::create_dir_all(entry.join("sub")).unwrap();
    std::fs::write(entry.join("lib"), vec![7u8; 3000]).unwrap();
    std::fs::write(entry.join("sub/b"), b"bee").unwrap();
    let bad = |required: &[&str]| match check_entry(&entry, required) {
        Verdict::Bad(problem) => problem,
        v => panic!("{v:?}"),
    };
    assert!(bad(&["lib"]).contains("no entry.json"), "an entry of an older vdx");
    Record::of(&entry, &["lib".to_string(), "sub/b".to_string()]).unwrap().write(&entry).unwrap();
    assert_eq!(check_entry(&entry, &["lib", "sub/b"]), Verdict::Good);
    assert!(bad(&["other"]).contains("does not list other"));
    std::fs::write(entry.join("sub/b"), b"bed").unwrap();
    let problem = bad(&["lib"]);
    assert!(problem.starts_with("sub/b has SHA-256 ") && problem.contains("recorded"), "{problem}");
    std::fs::write(entry.join("sub/b"), b"bee").unwrap();
    std::fs::File::options().write(true).open(entry.join("lib")).unwrap().set_len(1000).unwrap();
    assert_eq!(bad(&["lib"]), "lib is 1000 bytes, recorded 3000");
    std::fs::remove_file(entry.join("lib")).unwrap();
    assert_eq!(bad(&["lib"]), "lib is missing");
    std::fs::write(entry.join("entry.json"), b"{\"version\": 1, \"fil").unwrap();
    assert!(bad(&["lib"]).starts_with("entry.json is unreadable: "));
}

#[test]
fn a_bad_cache_dir_setting_names_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plain-file");
    std::fs::write(&file, "").unwrap();
    let text = super::model::prepare_cache(Some(file.as_os_str())).unwrap_err().to_string();
    assert_eq!(text, format!("VDX_CACHE_DIR={}: not a directory", file.display()));
    let below = file.join("cache");
    let text = super::model::prepare_cache(Some(below.as_os_str())).unwrap_err().to_string();
    assert!(text.starts_with(&format!("VDX_CACHE_DIR={}: cannot create it: ", below.display())), "{text}");
    // An explicit root (no variable involved) says what it is too.
    let text = VerilatorDut::build_in(&mac8_source(), &file).unwrap_err().to_string();
    assert_eq!(text, format!("model cache {}: not a directory", file.display()));
}

#[test]
fn write_run_vcd_refuses_a_run_that_was_not_all_recorded() {
    if !have_verilator() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut dut = VerilatorDut::build(&ctr_source()).unwrap();
    dut.reset();
    dut.step();
    let whole = dir.path().join("whole.vcd");
    dut.write_run_vcd(&whole).unwrap();
    assert!(std::fs::read_to_string(&whole).unwrap().contains("$enddefinitions"));
    dut.set_recording(false);
    dut.step();
    assert_eq!((dut.recorded_cycles(), dut.cycles_run()), (2, 3));
    let part = dir.path().join("part.vcd");
    let e = dut.write_run_vcd(&part).unwrap_err();
    assert!(matches!(e, SimError::RecordingIncomplete { cycles: 3, recorded: 2, .. }), "{e:?}");
    let text = e.to_string();
    assert!(text.contains("only the first 2 were recorded") && text.contains("--cycles"), "{text}");
    assert!(!part.exists());
}

#[test]
fn load_errors_carry_what_dlopen_said() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("libvdx.so");
    std::fs::write(&path, b"not an ELF file, but long enough to have a header's worth of bytes in it")
        .unwrap();
    let text = load_library(&path).unwrap_err().to_string();
    // libloading's own text is only "dlopen failed"; dlerror's follows it.
    assert!(
        text.starts_with(&format!("loading simulation model {}: dlopen failed: ", path.display())),
        "{text}"
    );
    assert!(text.contains("invalid ELF header"), "{text}");
}

/// The PyPI wheel's `verilated.mk` (5.48.0), cut down to the lines that matter: configure left the
/// precompiled-header option empty and the tool names point into the wheel's build machine, with
/// plain names appended at the end.
const WHEEL_MK: &str = "AR = /opt/rh/gcc-toolset-14/root/usr/bin/ar
CXX = /opt/rh/gcc-toolset-14/root/usr/bin/c++
PYTHON3 = /opt/python/cp39-cp39/bin/python3.9
CFG_CXXFLAGS_PCH = -x c++-header
CFG_CXXFLAGS_PCH_I = 
CFG_GCH_IF_CLANG = 
CXXFLAGS += $(CFG_CXXFLAGS_STD)
VK_PCH_I_FAST = $(CFG_CXXFLAGS_PCH_I) $(VM_PREFIX)__pch.h.fast$(CFG_GCH_IF_CLANG)
AR = ar
CXX = c++
LINK = c++
PYTHON3 = python
";

/// Debian's 5.006 `verilated.mk`, cut down likewise: no precompiled headers.
const DEBIAN_MK: &str = "AR = ar
CXX = g++
LINK = g++
PYTHON3 = /usr/bin/python3
CFG_CXXFLAGS_STD_NEWEST = -std=gnu++17
VK_GLOBAL_OBJS = $(addsuffix .o, $(VM_GLOBAL_FAST) $(VM_GLOBAL_SLOW))
";

#[test]
fn make_assignments_take_the_last_one() {
    use super::model::make_assignment;
    assert_eq!(make_assignment(WHEEL_MK, "CXX"), Some("c++"));
    assert_eq!(make_assignment(WHEEL_MK, "PYTHON3"), Some("python"));
    assert_eq!(make_assignment(WHEEL_MK, "CFG_CXXFLAGS_PCH_I"), Some(""));
    assert_eq!(make_assignment(WHEEL_MK, "CFG_CXXFLAGS_PCH"), Some("-x c++-header"));
    // `+=` appends rather than assigns, and a longer name is another variable.
    assert_eq!(make_assignment(WHEEL_MK, "CXXFLAGS"), None);
    assert_eq!(make_assignment("A := 1\nA ?= 2\nA ::= 3\n", "A"), Some("3"));
    assert_eq!(make_assignment(DEBIAN_MK, "CFG_CXXFLAGS_PCH_I"), None);
}

#[test]
fn make_settings_repair_the_wheel_and_leave_debian_alone() {
    use super::model::make_overrides;
    let cxx = Path::new("/usr/bin/g++");
    // Everything is installed: the wheel only needs its precompiled-header option, and no
    // runtime objects (vdx compiles its own).
    let all = |name: &str| Some(PathBuf::from("/usr/bin").join(name));
    assert_eq!(make_overrides(WHEEL_MK, cxx, all), ["VK_GLOBAL_OBJS=", "CFG_CXXFLAGS_PCH_I=-include"]);
    // Debian's makefile names what Debian has: nothing to set, so its cache keys stay as they were.
    let debian =
        |name: &str| ["g++", "python3"].contains(&name).then(|| PathBuf::from("/usr/bin").join(name));
    assert!(make_overrides(DEBIAN_MK, cxx, debian).is_empty());
    // The wheel on a machine with neither `python` nor `c++`: both are replaced.
    assert_eq!(
        make_overrides(WHEEL_MK, cxx, debian),
        [
            "VK_GLOBAL_OBJS=",
            "CFG_CXXFLAGS_PCH_I=-include",
            "PYTHON3=/usr/bin/python3",
            "CXX=/usr/bin/g++",
            "LINK=/usr/bin/g++"
        ]
    );
    // A sound 5.02x installation names the option itself.
    let sound = WHEEL_MK.replace("CFG_CXXFLAGS_PCH_I = ", "CFG_CXXFLAGS_PCH_I = -include");
    assert_eq!(make_overrides(&sound, cxx, all), ["VK_GLOBAL_OBJS="]);
    // A replacement that would need shell quoting is not given.
    let python3 = |name: &str| (name == "python3").then(|| PathBuf::from("/usr/bin/python3"));
    assert_eq!(
        make_overrides(WHEEL_MK, Path::new("/my tools/g++"), python3),
        ["VK_GLOBAL_OBJS=", "CFG_CXXFLAGS_PCH_I=-include", "PYTHON3=/usr/bin/python3"]
    );
}

#[test]
fn model_keys_depend_on_the_verilator_version() {
    use super::model::model_key;
    let src = mac8_source();
    let debian =
        "Verilator 5.006 2023-01-22 rev (Debian 5.006-3)\n/usr/share/verilator\n/usr/bin/g++\ng++ 12";
    let wheel =
        "rev vUNKNOWN-built20260516-4e853d8\n/venv/verilator\n/usr/bin/g++\ng++ 12\nmake VK_GLOBAL_OBJS=";
    assert_eq!(model_key(debian, &src, false), model_key(debian, &src, false));
    assert_ne!(model_key(debian, &src, false), model_key(wheel, &src, false));
    let other = debian.replace("5.006", "5.020");
    assert_ne!(model_key(debian, &src, false), model_key(&other, &src, false));
    assert_ne!(model_key(debian, &src, false), model_key(debian, &src, true));
}

#[test]
fn a_bad_verilator_setting_names_the_variable_and_the_path() {
    use crate::sim::verilator_setting;
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let text = |p: &Path| verilator_setting(p).unwrap_err().to_string();
    let missing = dir.path().join("verilator");
    let t = text(&missing);
    assert!(t.starts_with(&format!("verilator: VDX_VERILATOR={0}: {0}: ", missing.display())), "{t}");
    assert_eq!(
        text(dir.path()),
        format!("verilator: VDX_VERILATOR={0}: {0} is not a file", dir.path().display())
    );
    std::fs::write(&missing, "#!/bin/sh\n").unwrap();
    assert!(text(&missing).ends_with("is not executable"));
    std::fs::set_permissions(&missing, std::fs::Permissions::from_mode(0o755)).unwrap();
    assert_eq!(verilator_setting(&missing).unwrap(), missing);
    let cli = dir.path().join("verilator-cli");
    std::fs::copy(&missing, &cli).unwrap();
    assert!(text(&cli).contains("the Python wheel's wrapper"), "{}", text(&cli));
    let t = text(Path::new("no-such-verilator-here"));
    assert_eq!(t, "verilator: VDX_VERILATOR=no-such-verilator-here: not found on PATH");
    // A relative path is made absolute: models are built in other working directories.
    let rel = verilator_setting(Path::new("./Cargo.toml"));
    assert!(
        rel.unwrap_err().to_string().contains(&format!("{}", std::env::current_dir().unwrap().display()))
    );
}

#[test]
fn thread_settings_are_whole_numbers_and_name_the_variable() {
    use crate::sim::parse_threads;
    use std::ffi::OsStr;
    assert_eq!(parse_threads(None).unwrap(), 1);
    assert_eq!(parse_threads(Some(OsStr::new(""))).unwrap(), 1);
    assert_eq!(parse_threads(Some(OsStr::new("2"))).unwrap(), 2);
    for bad in ["0", "65", "two", "-1"] {
        let e = parse_threads(Some(OsStr::new(bad))).unwrap_err().to_string();
        assert_eq!(e, format!("verilator: VDX_SIM_THREADS={bad}: not a thread count from 1 to 64"));
    }
}
