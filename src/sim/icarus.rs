//! Icarus Verilog runner: the second simulator, used to cross-check Verilator on small
//! configurations (two simulators disagreeing points at simulator-specific semantics, such as
//! X propagation or event ordering, that a single simulator can never reveal).
//!
//! # How it works
//! [`IcarusSim::build`] writes the design files and a generated Verilog-2005 testbench into a
//! private temporary directory and compiles them once with `iverilog -g2005`. The testbench reads
//! its stimulus with `$readmemh` and writes every output port in hex with `$fwrite`, following the
//! cycle semantics of [`crate::sim`] exactly: drive inputs, `#1`, sample outputs, raise `clk_i`,
//! `#1`, lower `clk_i`, `#1` (without a `clk_i` port there is no toggling, so the module is
//! simply evaluated once per frame).
//!
//! # Replay instead of a live process
//! `vvp` always starts from time zero; keeping a live `vvp` process instead would need a blocking
//! read protocol between Rust and the testbench over a pipe, while replaying keeps every run a plain
//! batch job with files in and out. So [`IcarusSim`] keeps the whole input history: every
//! call to [`CycleSim::run`] replays the history followed by the new frames and returns only the
//! outputs of the new frames. The observable behaviour is that of a simulator continuing from its
//! current state; the cost is that `k` calls of `n` cycles each simulate `O(k² · n)` cycles, which
//! is acceptable for the small configurations Icarus is meant for. Call `run` with long buffers
//! rather than one cycle at a time.
//!
//! A failed run (tool failure, X/Z on an output) leaves the history as it was before the call.
//!
//! # Stimulus files
//! A `$readmemh` memory needs a size fixed at compile time while the history grows, so stimulus is
//! written in chunks of [`CHUNK_CYCLES`] lines (`stim_<k>.hex`); the testbench loads chunk `k` when
//! it reaches its first cycle. Only chunks touched by new frames are rewritten. Each line holds all
//! input ports, first declared port leftmost, each in `ceil(width / 4)` hex digits, so ports of any
//! width (including > 64 bits) stay nibble-aligned.

use super::tool::{TAIL_LINES, display_command, run_tool, tail};
use super::{CLOCK_PORT, CycleSim, PortLayout, SimError, SimSource, Slot};
use crate::hdl::names::declared_modules;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Cycles per stimulus file; bounds the testbench memory independently of the run length.
pub const CHUNK_CYCLES: usize = 4096;

/// Name of the compiled simulation image inside the work directory.
const IMAGE: &str = "sim.vvp";
/// Name of the file the testbench writes the output frames to.
const OUT_FILE: &str = "out.hex";

/// A compiled Icarus model of one top module (see the module docs for the replay semantics).
pub struct IcarusSim {
    layout: PortLayout,
    /// Owns the work directory; dropping the simulator removes it.
    dir: tempfile::TempDir,
    vvp: PathBuf,
    /// Every input frame simulated so far, concatenated.
    history: Vec<u32>,
    /// Cycles in `history` (kept separately because inputless modules have empty frames).
    history_cycles: usize,
    /// Cycles whose stimulus is already on disk in complete, unchanged chunk files.
    written_cycles: usize,
}

impl std::fmt::Debug for IcarusSim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IcarusSim")
            .field("top", &self.layout.module)
            .field("dir", &self.dir.path())
            .field("history_cycles", &self.history_cycles)
            .finish()
    }
}

impl IcarusSim {
    /// Writes the design and a generated testbench to a temporary directory and compiles them
    /// with `iverilog -g2005`. Fails with [`SimError::ToolMissing`] when `iverilog` or `vvp` is
    /// not installed (even with `VDX_SKIP_COSIM=1`: skipping is the caller's decision).
    pub fn build(src: &SimSource) -> Result<Self, SimError> {
        let iverilog = super::find_tool("iverilog", "iverilog")?;
        let vvp = super::find_tool("vvp", "iverilog")?;
        let layout = PortLayout::new(&src.top, &src.ports);
        let dir = tempfile::Builder::new()
            .prefix("vdx-icarus-")
            .tempdir()
            .map_err(|source| SimError::Io { path: std::env::temp_dir(), source })?;

        let mut args: Vec<String> = vec!["-g2005".into()];
        let mut design_files = Vec::with_capacity(src.files.len());
        for file in src.files.iter().filter(|f| !f.is_verilator_control()) {
            let path = dir.path().join(checked_file_name(&file.name, dir.path())?);
            write_file(&path, file.text.as_bytes())?;
            design_files.push(path);
        }
        let tb_name = testbench_name(src);
        let tb_path = dir.path().join("vdx_icarus_tb.v");
        write_file(&tb_path, testbench(&tb_name, &src.top, &layout).as_bytes())?;

        args.extend(["-s".into(), tb_name, "-o".into()]);
        args.push(dir.path().join(IMAGE).display().to_string());
        args.extend(design_files.iter().map(|p| p.display().to_string()));
        // The testbench goes last so that directives the design files leave behind
        // (`timescale`, `default_nettype`) cannot change how the design itself is read.
        args.push(tb_path.display().to_string());
        run_tool("iverilog", Command::new(&iverilog).args(&args).current_dir(dir.path()))?;

        Ok(IcarusSim { layout, dir, vvp, history: Vec::new(), history_cycles: 0, written_cycles: 0 })
    }

    /// The work directory holding the design, testbench, compiled image and stimulus files
    /// (useful when a run must be reproduced by hand with `vvp`).
    pub fn work_dir(&self) -> &Path {
        self.dir.path()
    }

    /// Writes the stimulus chunks from the first one not yet complete on disk up to `cycles`.
    fn write_stimulus(&self, cycles: usize) -> Result<(), SimError> {
        if self.layout.in_words == 0 {
            return Ok(());
        }
        let first_chunk = self.written_cycles / CHUNK_CYCLES;
        let mut line = String::new();
        for chunk in first_chunk..cycles.div_ceil(CHUNK_CYCLES) {
            let start = chunk * CHUNK_CYCLES;
            let end = (start + CHUNK_CYCLES).min(cycles);
            let mut text = String::with_capacity((end - start) * (hex_line_len(&self.layout) + 1));
            for c in start..end {
                let frame = &self.history[c * self.layout.in_words..(c + 1) * self.layout.in_words];
                line.clear();
                for slot in &self.layout.inputs {
                    push_hex(&mut line, slot.get_words(frame), slot.width);
                }
                text.push_str(&line);
                text.push('\n');
            }
            write_file(&self.dir.path().join(format!("stim_{chunk}.hex")), text.as_bytes())?;
        }
        Ok(())
    }

    /// Parses the testbench output into `outputs`, rejecting X/Z bits.
    fn parse_outputs(&self, text: &str, first_cycle: usize, outputs: &mut [u32]) -> Result<(), SimError> {
        let cycles = outputs.len().checked_div(self.layout.out_words).unwrap_or(0);
        let mut lines = text.lines();
        for c in 0..cycles {
            let line = lines.next().ok_or_else(|| {
                SimError::Parse(format!(
                    "vvp wrote {c} output lines for `{}`, expected {cycles}",
                    self.layout.module
                ))
            })?;
            let frame = &mut outputs[c * self.layout.out_words..(c + 1) * self.layout.out_words];
            let mut tokens = line.split_ascii_whitespace();
            for slot in &self.layout.outputs {
                let token = tokens.next().ok_or_else(|| {
                    SimError::Parse(format!(
                        "output line {c} of `{}` ends before port `{}`: {line:?}",
                        self.layout.module, slot.name
                    ))
                })?;
                parse_hex(token, slot, frame).map_err(|why| {
                    SimError::Parse(format!(
                        "output port `{}` of `{}` at cycle {c} of this run (cycle {} since time \
                         zero) {why}: {token}",
                        slot.name,
                        self.layout.module,
                        first_cycle + c
                    ))
                })?;
            }
        }
        Ok(())
    }
}

impl CycleSim for IcarusSim {
    fn layout(&self) -> &PortLayout {
        &self.layout
    }

    /// The length of the history every new run is replayed after.
    fn cycles_run(&self) -> u64 {
        self.history_cycles as u64
    }

    /// Replays the input history and then `inputs` (see the module docs), filling `outputs` with
    /// the frames of `inputs` only.
    fn run(&mut self, inputs: &[u32], outputs: &mut [u32]) -> Result<(), SimError> {
        let new_cycles = self.layout.check_buffers(inputs, outputs)?;
        if new_cycles == 0 {
            return Ok(());
        }
        let total = self.history_cycles + new_cycles;
        if i32::try_from(total).is_err() {
            return Err(SimError::Parse(format!(
                "{total} cycles exceed what the Icarus testbench counts (2^31 - 1)"
            )));
        }
        let old_len = self.history.len();
        self.history.extend_from_slice(inputs);
        let result = self.replay(total, outputs);
        if result.is_err() {
            // Chunk files past the committed history may now hold the rejected frames; that is
            // harmless because every run rewrites all chunks from `written_cycles` on.
            self.history.truncate(old_len);
            return result;
        }
        self.history_cycles = total;
        self.written_cycles = total / CHUNK_CYCLES * CHUNK_CYCLES;
        Ok(())
    }
}

impl IcarusSim {
    /// Runs `vvp` over the first `total` cycles of the history, writing outputs only for the
    /// cycles after the committed history.
    fn replay(&self, total: usize, outputs: &mut [u32]) -> Result<(), SimError> {
        self.write_stimulus(total)?;
        let out_path = self.dir.path().join(OUT_FILE);
        // A stale file from an earlier run must never be mistaken for this run's output.
        match std::fs::remove_file(&out_path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(SimError::Io { path: out_path, source }),
        }
        let args = vec![
            "-n".to_string(),
            self.dir.path().join(IMAGE).display().to_string(),
            format!("+cycles={total}"),
            format!("+skip={}", self.history_cycles),
        ];
        let mut vvp = Command::new(&self.vvp);
        vvp.args(&args).current_dir(self.dir.path());
        let log = run_tool("vvp", &mut vvp)?;
        let text = std::fs::read_to_string(&out_path)
            .map_err(|source| SimError::Io { path: out_path.clone(), source })?;
        let expected = total - self.history_cycles;
        let got = text.lines().count();
        if got != expected {
            return Err(SimError::ToolFailed {
                tool: "vvp".into(),
                command: display_command(&vvp),
                status: format!("wrote {got} output lines, expected {expected}"),
                output: tail(&log, TAIL_LINES),
            });
        }
        self.parse_outputs(&text, self.history_cycles, outputs)
    }
}

/// Rejects file names that would escape the work directory.
fn checked_file_name<'a>(name: &'a str, dir: &Path) -> Result<&'a str, SimError> {
    let bad = name.is_empty() || name == "." || name == ".." || name.contains(['/', '\\', '\0']);
    if bad {
        return Err(SimError::Io {
            path: dir.join(name),
            source: std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("design file name {name:?} must be a plain file name"),
            ),
        });
    }
    Ok(name)
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), SimError> {
    let io = |source| SimError::Io { path: path.to_path_buf(), source };
    let mut f = std::fs::File::create(path).map_err(io)?;
    f.write_all(bytes).map_err(io)?;
    Ok(())
}

/// A testbench module name that no design module uses (`tb` unless the design has one).
fn testbench_name(src: &SimSource) -> String {
    let taken: Vec<String> = src.files.iter().flat_map(|f| declared_modules(&f.text)).collect();
    let mut name = "tb".to_string();
    while taken.contains(&name) || name == src.top {
        name.push('_');
    }
    name
}

/// Hex digits a port takes on a stimulus or output line.
fn hex_digits(width: u32) -> usize {
    width.div_ceil(4) as usize
}

fn hex_line_len(layout: &PortLayout) -> usize {
    layout.inputs.iter().map(|s| hex_digits(s.width)).sum()
}

/// Appends `width` bits of `words` as exactly `ceil(width / 4)` hex digits, most significant
/// first; bits above the width in the top digit are dropped so `$readmemh` never sees excess
/// digits.
fn push_hex(out: &mut String, words: &[u32], width: u32) {
    let digits = hex_digits(width);
    for d in (0..digits).rev() {
        let mut nibble = (words[d / 8] >> (4 * (d % 8))) & 0xf;
        if d == digits - 1 && !width.is_multiple_of(4) {
            nibble &= (1 << (width % 4)) - 1;
        }
        // A nibble is always a valid hex digit, so `write!` to a String cannot fail.
        let _ = write!(out, "{nibble:x}");
    }
}

/// Parses one `%h` token of an output port into its words of `frame`.
fn parse_hex(token: &str, slot: &Slot, frame: &mut [u32]) -> Result<(), String> {
    if token.contains(['x', 'X']) {
        return Err("is X (unknown)".into());
    }
    if token.contains(['z', 'Z']) {
        return Err("is Z (undriven)".into());
    }
    let digits = token.as_bytes();
    if digits.len() != hex_digits(slot.width) {
        return Err(format!("has {} hex digits, expected {}", digits.len(), hex_digits(slot.width)));
    }
    let words = &mut frame[slot.offset..slot.offset + slot.words];
    words.fill(0);
    for (i, &b) in digits.iter().rev().enumerate() {
        let nibble =
            (b as char).to_digit(16).ok_or_else(|| format!("has a non-hex digit {:?}", b as char))?;
        words[i / 8] |= nibble << (4 * (i % 8));
    }
    Ok(())
}

/// `reg`/`wire` declaration with a range only for multi-bit ports.
fn decl(kind: &str, width: u32, name: &str) -> String {
    if width == 1 { format!("  {kind} {name};\n") } else { format!("  {kind} [{}:0] {name};\n", width - 1) }
}

/// Generates the Verilog-2005 testbench (see the module docs for its protocol).
fn testbench(tb: &str, top: &str, layout: &PortLayout) -> String {
    let mut v = String::new();
    let in_bits: usize = 4 * hex_line_len(layout);
    v.push_str("// vdx Icarus testbench - generated, do not edit\n");
    // Every net below is declared, so a `default_nettype none` left over from the design is fine.
    let _ = writeln!(v, "module {tb};");
    let _ = writeln!(v, "  localparam integer CHUNK = {CHUNK_CYCLES};");
    if layout.has_clock {
        let _ = writeln!(v, "  reg {CLOCK_PORT};");
    }
    for s in &layout.inputs {
        v.push_str(&decl("reg", s.width, &s.name));
    }
    for s in &layout.outputs {
        v.push_str(&decl("wire", s.width, &s.name));
    }
    if in_bits > 0 {
        let _ = writeln!(v, "  reg [{}:0] stim [0:CHUNK-1];", in_bits - 1);
        let _ = writeln!(v, "  reg [{}:0] cur;", in_bits - 1);
    }
    v.push_str("  reg [8*32-1:0] fname;\n  integer cycles, skip, c, n, fd;\n\n");

    let mut conns: Vec<String> = Vec::new();
    if layout.has_clock {
        conns.push(format!(".{CLOCK_PORT}({CLOCK_PORT})"));
    }
    conns.extend(layout.inputs.iter().chain(&layout.outputs).map(|s| format!(".{0}({0})", s.name)));
    let _ = writeln!(v, "  {top} u_dut (\n    {}\n  );\n", conns.join(",\n    "));

    v.push_str("  initial begin\n");
    v.push_str("    if (!$value$plusargs(\"cycles=%d\", cycles)) cycles = 0;\n");
    v.push_str("    if (!$value$plusargs(\"skip=%d\", skip)) skip = 0;\n");
    let _ = writeln!(v, "    fd = $fopen(\"{OUT_FILE}\", \"w\");");
    v.push_str(
        "    if (fd == 0) begin\n      $display(\"cannot open output file\");\n      $finish;\n    end\n",
    );
    if layout.has_clock {
        let _ = writeln!(v, "    {CLOCK_PORT} = 1'b0;");
    }
    v.push_str("    for (c = 0; c < cycles; c = c + 1) begin\n");
    if in_bits > 0 {
        v.push_str("      if (c % CHUNK == 0) begin\n");
        v.push_str("        n = cycles - c;\n        if (n > CHUNK) n = CHUNK;\n");
        v.push_str("        $sformat(fname, \"stim_%0d.hex\", c / CHUNK);\n");
        v.push_str("        $readmemh(fname, stim, 0, n - 1);\n      end\n");
        v.push_str("      cur = stim[c % CHUNK];\n");
        // First declared port sits leftmost (most significant) on the line.
        let mut hi = in_bits;
        for s in &layout.inputs {
            let field = 4 * hex_digits(s.width);
            let lo = hi - field;
            let _ = writeln!(v, "      {} = cur[{}:{}];", s.name, lo + s.width as usize - 1, lo);
            hi = lo;
        }
    }
    v.push_str("      #1;\n      if (c >= skip) ");
    if layout.outputs.is_empty() {
        v.push_str("$fwrite(fd, \"\\n\");\n");
    } else {
        let fmt = vec!["%h"; layout.outputs.len()].join(" ");
        let names: Vec<&str> = layout.outputs.iter().map(|s| s.name.as_str()).collect();
        let _ = writeln!(v, "$fwrite(fd, \"{fmt}\\n\", {});", names.join(", "));
    }
    if layout.has_clock {
        let _ = writeln!(v, "      {CLOCK_PORT} = 1'b1;\n      #1;\n      {CLOCK_PORT} = 1'b0;\n      #1;");
    } else {
        v.push_str("      #2;\n");
    }
    v.push_str("    end\n    $fclose(fd);\n    $finish;\n  end\nendmodule\n");
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hdl::{PortDir, PortSpec};
    use crate::sim::{VerilogFile, require_tool};

    /// Skips (returns false) only when iverilog is missing and VDX_SKIP_COSIM=1.
    fn have_icarus() -> bool {
        require_tool("iverilog", "iverilog").unwrap().is_some()
    }

    fn port(name: &str, dir: PortDir, width: u32) -> PortSpec {
        PortSpec { name: name.into(), dir, width, signed: false }
    }

    const COUNTER: &str = "\
`default_nettype none
module vdx_test_counter (
  input  wire          clk_i,
  input  wire          rst_ni,
  input  wire          en_i,
  input  wire [99:0]   wide_i,
  output wire [99:0]   wide_o,
  output wire [63:0]   count_o
);
  reg [63:0]  count_q;
  reg [99:0]  wide_q;
  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      count_q <= 64'hffff_ffff_ffff_fff0;
      wide_q  <= 100'd0;
    end else begin
      if (en_i) count_q <= count_q + 64'd1;
      wide_q <= wide_i ^ {wide_q[98:0], wide_q[99]};
    end
  end
  assign wide_o  = wide_q;
  assign count_o = count_q;
endmodule
`default_nettype wire
";

    fn counter_src() -> SimSource {
        SimSource {
            top: "vdx_test_counter".into(),
            files: vec![VerilogFile { name: "vdx_test_counter.v".into(), text: COUNTER.into() }],
            ports: vec![
                port("clk_i", PortDir::Input, 1),
                port("rst_ni", PortDir::Input, 1),
                port("en_i", PortDir::Input, 1),
                port("wide_i", PortDir::Input, 100),
                port("wide_o", PortDir::Output, 100),
                port("count_o", PortDir::Output, 64),
            ],
        }
    }

    const MASK100: u128 = (1u128 << 100) - 1;

    /// Rust model of the counter fixture, with the same cycle semantics as the simulators.
    #[derive(Default)]
    struct CounterModel {
        count: u64,
        wide: u128,
        reset_seen: bool,
    }

    impl CounterModel {
        /// Returns the outputs seen during the cycle, then applies the clock edge.
        fn cycle(&mut self, rst_n: bool, en: bool, wide_in: u128) -> (u128, u64) {
            if !rst_n {
                // Asynchronous: the reset acts as soon as it is driven, before sampling.
                self.count = 0xffff_ffff_ffff_fff0;
                self.wide = 0;
                self.reset_seen = true;
            }
            let out = (self.wide, self.count);
            if rst_n {
                if en {
                    self.count = self.count.wrapping_add(1);
                }
                self.wide = (wide_in ^ (((self.wide << 1) | (self.wide >> 99)) & MASK100)) & MASK100;
            }
            out
        }
    }

    fn words128(v: u128) -> [u32; 4] {
        [v as u32, (v >> 32) as u32, (v >> 64) as u32, (v >> 96) as u32]
    }

    fn from_words(w: &[u32]) -> u128 {
        w.iter().enumerate().fold(0u128, |acc, (i, &x)| acc | ((x as u128) << (32 * i)))
    }

    /// A small xorshift so the test needs no RNG dependency and prints a reproducible seed.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    /// Builds `cycles` random input frames (reset in the first cycles and around `reset_at`)
    /// and the model's expected output frames.
    fn counter_frames(
        sim: &IcarusSim,
        model: &mut CounterModel,
        rng: &mut Rng,
        cycles: usize,
        reset_at: &[usize],
    ) -> (Vec<u32>, Vec<u32>) {
        let l = sim.layout();
        let (rst, en, wide_i) =
            (l.input("rst_ni").unwrap(), l.input("en_i").unwrap(), l.input("wide_i").unwrap());
        let (wide_o, count_o) = (l.output("wide_o").unwrap(), l.output("count_o").unwrap());
        let mut inputs = vec![0u32; cycles * l.in_words];
        let mut expected = vec![0u32; cycles * l.out_words];
        for c in 0..cycles {
            let frame = &mut inputs[c * l.in_words..(c + 1) * l.in_words];
            let rst_n = !reset_at.iter().any(|&r| c >= r && c < r + 2);
            let enable = !rng.next().is_multiple_of(4);
            let w = ((rng.next() as u128) << 64 | rng.next() as u128) & MASK100;
            rst.set(frame, rst_n as u64);
            en.set(frame, enable as u64);
            wide_i.set_words(frame, &words128(w));
            let (wo, co) = model.cycle(rst_n, enable, w);
            let out = &mut expected[c * l.out_words..(c + 1) * l.out_words];
            wide_o.set_words(out, &words128(wo));
            count_o.set(out, co);
        }
        (inputs, expected)
    }

    fn compare(sim: &IcarusSim, got: &[u32], expected: &[u32], first_cycle: usize, seed: u64) {
        let l = sim.layout();
        for (c, (g, e)) in got.chunks(l.out_words).zip(expected.chunks(l.out_words)).enumerate() {
            for s in &l.outputs {
                assert_eq!(
                    from_words(s.get_words(g)),
                    from_words(s.get_words(e)),
                    "port {} at cycle {} (seed {seed:#x})",
                    s.name,
                    first_cycle + c
                );
            }
        }
    }

    #[test]
    fn counter_matches_model_over_random_cycles() {
        if !have_icarus() {
            return;
        }
        let seed = 0x5eed_1ca2_u64;
        let mut sim = IcarusSim::build(&counter_src()).unwrap();
        let mut model = CounterModel::default();
        let mut rng = Rng(seed);
        let cycles = 2000;
        let (inputs, expected) = counter_frames(&sim, &mut model, &mut rng, cycles, &[0, 700, 1501]);
        let mut got = vec![0u32; expected.len()];
        let t = std::time::Instant::now();
        sim.run(&inputs, &mut got).unwrap();
        let secs = t.elapsed().as_secs_f64();
        eprintln!(
            "icarus: {cycles} cycles in {secs:.3} s = {:.0} cycles/s (incl. vvp start)",
            cycles as f64 / secs
        );
        assert!(model.reset_seen);
        compare(&sim, &got, &expected, 0, seed);
        // The count must have wrapped through zero after the reset value 0x..fff0.
        let count = sim.layout().output("count_o").unwrap().clone();
        assert!(got.chunks(sim.layout().out_words).any(|f| count.get(f) == 0));
    }

    #[test]
    fn second_run_continues_state() {
        if !have_icarus() {
            return;
        }
        let seed = 0xc0ffee;
        let mut sim = IcarusSim::build(&counter_src()).unwrap();
        let mut model = CounterModel::default();
        let mut rng = Rng(seed);
        // Crosses a chunk boundary so the partial-chunk rewrite is exercised.
        let (in1, exp1) = counter_frames(&sim, &mut model, &mut rng, CHUNK_CYCLES - 5, &[0]);
        let (in2, exp2) = counter_frames(&sim, &mut model, &mut rng, 300, &[]);
        let mut out1 = vec![0u32; exp1.len()];
        sim.run(&in1, &mut out1).unwrap();
        compare(&sim, &out1, &exp1, 0, seed);
        let mut out2 = vec![0u32; exp2.len()];
        sim.run(&in2, &mut out2).unwrap();
        compare(&sim, &out2, &exp2, CHUNK_CYCLES - 5, seed);
        assert_eq!(sim.cycles_run(), (CHUNK_CYCLES - 5 + 300) as u64);
    }

    #[test]
    fn combinational_module_without_clock() {
        if !have_icarus() {
            return;
        }
        // No trailing `default_nettype wire`: the testbench must survive the leftover `none`.
        let text = "\
`default_nettype none
module vdx_test_comb (
  input  wire [7:0]  a_i,
  input  wire [69:0] b_i,
  output wire [8:0]  sum_o,
  output wire [69:0] inv_o
);
  assign sum_o = {1'b0, a_i} + {1'b0, b_i[7:0]};
  assign inv_o = ~b_i;
endmodule
";
        let src = SimSource {
            top: "vdx_test_comb".into(),
            files: vec![VerilogFile { name: "vdx_test_comb.v".into(), text: text.into() }],
            ports: vec![
                port("a_i", PortDir::Input, 8),
                port("b_i", PortDir::Input, 70),
                port("sum_o", PortDir::Output, 9),
                port("inv_o", PortDir::Output, 70),
            ],
        };
        let mut sim = IcarusSim::build(&src).unwrap();
        let l = sim.layout().clone();
        assert!(!l.has_clock);
        let mut rng = Rng(7);
        let cycles = 200;
        let mut inputs = vec![0u32; cycles * l.in_words];
        let mut bs = Vec::new();
        for c in 0..cycles {
            let f = &mut inputs[c * l.in_words..(c + 1) * l.in_words];
            let a = rng.next() & 0xff;
            let b = ((rng.next() as u128) << 64 | rng.next() as u128) & ((1u128 << 70) - 1);
            l.input("a_i").unwrap().set(f, a);
            l.input("b_i").unwrap().set_words(f, &words128(b));
            bs.push((a, b));
        }
        let mut out = vec![0u32; cycles * l.out_words];
        sim.run(&inputs, &mut out).unwrap();
        for (c, &(a, b)) in bs.iter().enumerate() {
            let f = &out[c * l.out_words..(c + 1) * l.out_words];
            assert_eq!(l.output("sum_o").unwrap().get(f), a + (b as u64 & 0xff), "cycle {c}");
            let inv = from_words(l.output("inv_o").unwrap().get_words(f));
            assert_eq!(inv, !b & ((1u128 << 70) - 1), "cycle {c}");
        }
    }

    #[test]
    fn x_on_output_is_an_error_naming_the_port() {
        if !have_icarus() {
            return;
        }
        let text = "\
`default_nettype none
module vdx_test_noreset (
  input  wire       clk_i,
  input  wire [3:0] d_i,
  output wire [3:0] ok_o,
  output wire [3:0] q_o
);
  reg [3:0] q;
  always @(posedge clk_i) q <= q + d_i;
  assign ok_o = d_i;
  assign q_o = q;
endmodule
`default_nettype wire
";
        let src = SimSource {
            top: "vdx_test_noreset".into(),
            files: vec![VerilogFile { name: "vdx_test_noreset.v".into(), text: text.into() }],
            ports: vec![
                port("clk_i", PortDir::Input, 1),
                port("d_i", PortDir::Input, 4),
                port("ok_o", PortDir::Output, 4),
                port("q_o", PortDir::Output, 4),
            ],
        };
        let mut sim = IcarusSim::build(&src).unwrap();
        let inputs = vec![3u32; 4];
        let mut out = vec![0u32; 8];
        let err = sim.run(&inputs, &mut out).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, SimError::Parse(_)), "{msg}");
        assert!(msg.contains("`q_o`") && msg.contains("cycle 0") && msg.contains("X"), "{msg}");
        // The failed run must not have advanced the replayed history.
        assert_eq!(sim.cycles_run(), 0);
    }

    #[test]
    fn compile_error_carries_command_and_output() {
        if !have_icarus() {
            return;
        }
        let src = SimSource {
            top: "vdx_test_broken".into(),
            files: vec![VerilogFile {
                name: "vdx_test_broken.v".into(),
                text: "module vdx_test_broken(input wire a_i, output wire y_o);\n assign y_o = a_i +;\nendmodule\n".into(),
            }],
            ports: vec![port("a_i", PortDir::Input, 1), port("y_o", PortDir::Output, 1)],
        };
        let err = IcarusSim::build(&src).unwrap_err();
        match &err {
            SimError::ToolFailed { tool, command, output, .. } => {
                assert_eq!(tool, "iverilog");
                assert!(command.contains("-g2005"), "{command}");
                assert!(output.contains("vdx_test_broken.v"), "{output}");
            }
            other => panic!("expected ToolFailed, got {other}"),
        }
    }

    #[test]
    fn hex_round_trip_handles_odd_widths() {
        let slot = Slot { name: "p".into(), width: 70, offset: 1, words: 3 };
        let words = [0xdead_beef, 0x0123_4567, 0xffff_ffff];
        let mut s = String::new();
        push_hex(&mut s, &words, 70);
        assert_eq!(s, "3f01234567deadbeef");
        let mut frame = [0u32; 4];
        parse_hex(&s, &slot, &mut frame).unwrap();
        assert_eq!(frame, [0, 0xdead_beef, 0x0123_4567, 0x3f]);
        assert!(parse_hex("3f01234x67deadbeef", &slot, &mut frame).unwrap_err().contains('X'));
        assert!(parse_hex("3f01234567deadbeeZ", &slot, &mut frame).unwrap_err().contains('Z'));
    }
}
