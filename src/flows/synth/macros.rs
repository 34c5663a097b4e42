//! Memories as SRAM macros ([`Memories::Macros`]): which memories become macros, the files that
//! let Yosys, `stat` and OpenSTA treat them as black-box cells, and the area model.
//!
//! # Which memories
//! After Yosys' coarse synthesis every memory is one `$mem_v2` cell with its read registers
//! merged into its read ports (vdx emits synchronous reads, see
//! [`crate::hdl::Memory::read`]). A memory becomes a macro when it has exactly one write port and
//! one read port, both clocked on the rising edge, and at least [`MACRO_MIN_WORDS`] words; every
//! other memory (small register files, read-only tables, several read ports) stays flip-flops
//! and multiplexers, as without macros.
//!
//! # The macro cells
//! A macro of `W` words of `B` bits is the cell `vdx_sram_1r1w_<W>x<B>`: the same shape gets the
//! same cell in every design, whatever instantiates it. Its pins are those of Yosys' `$mem_v2`
//! for one read and one write port (`help $mem_v2` in Yosys): `RD_CLK`, `RD_EN`, `RD_ARST`,
//! `RD_SRST`, `RD_ADDR`, `RD_DATA`, `WR_CLK`, `WR_EN` (one enable per bit), `WR_ADDR`,
//! `WR_DATA`. Three generated files carry it:
//! - `macros_map.v`, a Yosys `techmap` rule that turns each qualifying `$mem_v2` into its cell
//!   (and fails, leaving the memory to Yosys' `memory_map`, for any other);
//! - `macros_bb.v`, the cells as `(* blackbox *)` modules, so that `hierarchy` knows their ports;
//! - `macros.lib`, a Liberty library with the cells' areas and timing arcs, read by `stat` and
//!   OpenSTA.
//!
//! # Area model
//! There is no memory compiler for OSU 0.18 µm here, so a macro's area is estimated from bit
//! cells. The OpenRAM documentation ("Results", *Relative Planar Bitcells*, 0.35 µm SCMOS) draws
//! an isolated-read 10T cell (one read-write and one read port, which a one-read, one-write
//! memory needs) at 10.9 µm × 13.9 µm next to an OSU standard-cell flip-flop at 21.9 µm × 21.2 µm
//! in the same process: 0.326 flip-flops per bit cell. Scaled by OSU018's `DFFPOSX1` (96 µm²)
//! that is [`BITCELL_UM2`] ≈ 31.3 µm² per bit. Decoders, sense amplifiers and write drivers are
//! assumed to take as much area again as the array ([`ARRAY_EFFICIENCY`] = 0.5, an assumption,
//! not a measurement), so a macro is ≈ 62.7 µm² per bit. [`SynthReport::macros`] lists each
//! macro's area, so that a figure from a real compiler can replace it.
//!
//! # Timing model
//! The macros are timed as ideal registered memories: `RD_DATA` switches at the rising edge of
//! `RD_CLK` with no delay (0.1 ns transition), and the inputs have zero setup time to their
//! clock. The critical path is then that of the logic around the macros; a macro's own access
//! time (from its compiler's Liberty) adds to every path starting at its `RD_DATA`, and its setup
//! time to every path ending at its inputs. Every input pin loads its net with 0.01 pF, except
//! `WR_EN`: its bits are all driven by the memory's one word enable in vdx designs, which a
//! real macro takes on one pin, so together they load the net as one pin does (given each bit
//! one pin, a single gate drove 1,024 pins of a temporal lane's macros, 10 pF, at 17 ns).
//!
//! [`SynthReport::macros`]: super::SynthReport::macros

use super::SynthError;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

/// How [`super::synthesize`] maps the design's memories.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Memories {
    /// Flip-flops and multiplexers (Yosys `memory_map`): exact cells, but a large memory takes
    /// ABC a very long time and is far larger than an SRAM.
    #[default]
    Flops,
    /// Qualifying memories become SRAM macro cells (see the [module docs](self)); the rest are
    /// flip-flops.
    Macros,
}

/// Input capacitance of a macro pin in pF (a small gate's; `WR_EN` bits share one).
const PIN_PF: f64 = 0.01;

/// Fewest words a memory needs to become a macro.
pub const MACRO_MIN_WORDS: u64 = 32;

/// Area of one bit cell in µm² (see the [module docs](self)): `10.9 × 13.9 / (21.9 × 21.2)` of
/// OSU018's 96 µm² `DFFPOSX1`.
pub const BITCELL_UM2: f64 = 10.9 * 13.9 / (21.9 * 21.2) * 96.0;

/// Fraction of a macro's area that is bit cells (assumed).
pub const ARRAY_EFFICIENCY: f64 = 0.5;

/// The `$mem_v2` parameters a macro's memory must have, whatever its shape: one read and one
/// write port, both registered on the rising edge, addresses from 0. [`memory_shapes`] checks
/// them in the coarse design and the techmap rule checks them again on each cell it maps.
const MACRO_PORTS: [(&str, u64); 7] = [
    ("RD_PORTS", 1),
    ("WR_PORTS", 1),
    ("RD_CLK_ENABLE", 1),
    ("RD_CLK_POLARITY", 1),
    ("WR_CLK_ENABLE", 1),
    ("WR_CLK_POLARITY", 1),
    ("OFFSET", 0),
];

/// Prefix of every macro cell name.
pub(super) const MACRO_PREFIX: &str = "vdx_sram_1r1w_";

/// The techmap rule the flow writes.
pub(super) const MAP_FILE: &str = "macros_map.v";
/// The black-box modules the flow writes.
pub(super) const BLACKBOX_FILE: &str = "macros_bb.v";
/// The Liberty library the flow writes.
pub(super) const LIBERTY_FILE: &str = "macros.lib";
/// The memories of the coarse design (Yosys JSON), written by the first Yosys run.
pub(super) const MEMORIES_JSON: &str = "memories.json";

/// One macro cell type a design uses, and how often.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MacroUse {
    /// Cell name, `vdx_sram_1r1w_<words>x<width>`.
    pub cell: String,
    /// Words.
    pub words: u64,
    /// Bits per word.
    pub width: u64,
    /// Instances in the design.
    pub count: u64,
    /// Estimated area of one instance in µm² (see the [module docs](self)).
    pub area_um2: f64,
}

/// The shape of a qualifying memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Shape {
    pub(super) words: u64,
    pub(super) width: u64,
    pub(super) addr_bits: u64,
}

impl Shape {
    /// The macro cell's name.
    pub(super) fn cell(&self) -> String {
        format!("{MACRO_PREFIX}{}x{}", self.words, self.width)
    }

    /// Estimated area in µm².
    pub(super) fn area_um2(&self) -> f64 {
        (self.words * self.width) as f64 * BITCELL_UM2 / ARRAY_EFFICIENCY
    }

    /// The pins in `$mem_v2` order: name, width, whether an output.
    fn pins(&self) -> [(&'static str, u64, bool); 10] {
        let (a, w) = (self.addr_bits, self.width);
        [
            ("RD_CLK", 1, false),
            ("RD_EN", 1, false),
            ("RD_ARST", 1, false),
            ("RD_SRST", 1, false),
            ("RD_ADDR", a, false),
            ("RD_DATA", w, true),
            ("WR_CLK", 1, false),
            ("WR_EN", w, false),
            ("WR_ADDR", a, false),
            ("WR_DATA", w, false),
        ]
    }
}

/// A parameter as a number: Yosys writes them as binary strings (`"01000000"`), or as JSON
/// numbers; `None` for anything else (a string parameter, undefined bits).
fn number(parameters: &BTreeMap<String, serde_json::Value>, name: &str) -> Option<u64> {
    match parameters.get(name)? {
        serde_json::Value::Number(n) => n.as_u64(),
        serde_json::Value::String(s) if !s.is_empty() && s.len() <= 64 => u64::from_str_radix(s, 2).ok(),
        _ => None,
    }
}

/// The qualifying memories of a coarse design (the `write_json` text of the file `file`), with
/// how many of each shape there are; see the [module docs](self).
pub(super) fn memory_shapes(text: &str, file: &Path) -> Result<BTreeMap<Shape, u64>, SynthError> {
    let mut shapes = BTreeMap::new();
    for params in super::yosys::cell_parameters(text, "$mem_v2", file)? {
        let p = |name| number(&params, name);
        let qualifies = MACRO_PORTS.iter().all(|&(name, value)| p(name) == Some(value));
        let (Some(words), Some(width), Some(addr_bits)) = (p("SIZE"), p("WIDTH"), p("ABITS")) else {
            continue;
        };
        if qualifies && words >= MACRO_MIN_WORDS && width >= 1 && addr_bits >= 1 {
            *shapes.entry(Shape { words, width, addr_bits }).or_insert(0) += 1;
        }
    }
    Ok(shapes)
}

/// `macros_map.v`: a techmap module for `$mem_v2` that instantiates the cell of a qualifying
/// shape and sets `_TECHMAP_FAIL_` for anything else.
pub(super) fn techmap_verilog<'a>(shapes: impl IntoIterator<Item = &'a Shape>) -> String {
    let shapes: Vec<&Shape> = shapes.into_iter().collect();
    let mut v = String::from(
        "// vdx: SRAM macros for qualifying memories (generated by vdx::flows::synth)\n\
         (* techmap_celltype = \"$mem_v2\" *)\n\
         module vdx_map_mem_v2 (RD_CLK, RD_EN, RD_ARST, RD_SRST, RD_ADDR, RD_DATA, WR_CLK, WR_EN, WR_ADDR, WR_DATA);\n",
    );
    // Every parameter Yosys 0.23 sets on `$mem_v2` must be declared, or techmap refuses it.
    for p in [
        "MEMID",
        "SIZE",
        "OFFSET",
        "ABITS",
        "WIDTH",
        "INIT",
        "RD_PORTS",
        "RD_CLK_ENABLE",
        "RD_CLK_POLARITY",
        "RD_TRANSPARENCY_MASK",
        "RD_COLLISION_X_MASK",
        "RD_WIDE_CONTINUATION",
        "RD_CE_OVER_SRST",
        "RD_ARST_VALUE",
        "RD_SRST_VALUE",
        "RD_INIT_VALUE",
        "WR_PORTS",
        "WR_CLK_ENABLE",
        "WR_CLK_POLARITY",
        "WR_PRIORITY_MASK",
        "WR_WIDE_CONTINUATION",
    ] {
        let _ = writeln!(v, "  parameter {p} = 0;");
    }
    v.push_str(
        "  input [RD_PORTS-1:0] RD_CLK, RD_EN, RD_ARST, RD_SRST;\n  \
         input [RD_PORTS*ABITS-1:0] RD_ADDR;\n  \
         output [RD_PORTS*WIDTH-1:0] RD_DATA;\n  \
         input [WR_PORTS-1:0] WR_CLK;\n  \
         input [WR_PORTS*WIDTH-1:0] WR_EN, WR_DATA;\n  \
         input [WR_PORTS*ABITS-1:0] WR_ADDR;\n",
    );
    let ports: Vec<String> = MACRO_PORTS.iter().map(|(name, value)| format!("{name} == {value}")).collect();
    let _ = writeln!(v, "  localparam PORTS = {};", ports.join(" && "));
    let test = |s: &Shape| format!("SIZE == {} && WIDTH == {} && ABITS == {}", s.words, s.width, s.addr_bits);
    let any: Vec<String> = shapes.iter().map(|s| format!("({})", test(s))).collect();
    let any = if any.is_empty() { "0".to_string() } else { any.join(" || ") };
    let _ = writeln!(v, "  wire _TECHMAP_FAIL_ = !(PORTS && ({any}));");
    v.push_str("  generate\n");
    for (i, s) in shapes.iter().enumerate() {
        let head = if i == 0 { "if" } else { "else if" };
        // No `begin`/`end`: a named block would rename the instance, which then no longer
        // replaces the memory under the memory's own name.
        let _ = writeln!(v, "    {head} ({})", test(s));
        let conns: Vec<String> = s.pins().iter().map(|(n, _, _)| format!(".{n}({n})")).collect();
        let _ = writeln!(v, "      {} _TECHMAP_REPLACE_ ({});", s.cell(), conns.join(", "));
    }
    v.push_str("  endgenerate\nendmodule\n");
    v
}

/// `macros_bb.v`: the macro cells as black-box modules.
pub(super) fn blackbox_verilog<'a>(shapes: impl IntoIterator<Item = &'a Shape>) -> String {
    let mut v = String::from("// vdx: SRAM macro cells (generated by vdx::flows::synth)\n");
    for s in shapes {
        let ports: Vec<String> = s
            .pins()
            .iter()
            .map(|&(n, w, out)| {
                let dir = if out { "output" } else { "input" };
                if w == 1 { format!("{dir} {n}") } else { format!("{dir} [{}:0] {n}", w - 1) }
            })
            .collect();
        let _ = writeln!(v, "(* blackbox *)\nmodule {} ({});\nendmodule", s.cell(), ports.join(", "));
    }
    v
}

/// `macros.lib`: the macro cells with their areas and the timing arcs of the [module
/// docs](self), in the units of OSU018's Liberty (ns, pF).
pub(super) fn liberty<'a>(shapes: impl IntoIterator<Item = &'a Shape>) -> String {
    let shapes: Vec<&Shape> = shapes.into_iter().collect();
    let mut l = String::from(
        "/* vdx: SRAM macro cells, estimated (generated by vdx::flows::synth) */\n\
         library (vdx_sram_macros) {\n  \
         delay_model : table_lookup;\n  \
         time_unit : \"1ns\";\n  \
         voltage_unit : \"1V\";\n  \
         current_unit : \"1uA\";\n  \
         pulling_resistance_unit : \"1kohm\";\n  \
         capacitive_load_unit (1, pf);\n  \
         nom_voltage : 1.8;\n  \
         nom_temperature : 25;\n  \
         nom_process : 1;\n  \
         slew_upper_threshold_pct_rise : 80;\n  \
         slew_lower_threshold_pct_rise : 20;\n  \
         slew_upper_threshold_pct_fall : 80;\n  \
         slew_lower_threshold_pct_fall : 20;\n  \
         input_threshold_pct_rise : 50;\n  \
         input_threshold_pct_fall : 50;\n  \
         output_threshold_pct_rise : 50;\n  \
         output_threshold_pct_fall : 50;\n",
    );
    let mut widths: Vec<u64> =
        shapes.iter().flat_map(|s| [s.width, s.addr_bits]).filter(|&w| w > 1).collect();
    widths.sort_unstable();
    widths.dedup();
    for w in widths {
        let _ = writeln!(
            l,
            "  type (vdx_bus{w}) {{ base_type : array; data_type : bit; bit_width : {w}; bit_from : {}; bit_to : 0; downto : true; }}",
            w - 1
        );
    }
    let constraint = |clock: &str| {
        format!(
            "timing () {{ related_pin : \"{clock}\"; timing_type : setup_rising; \
             rise_constraint (scalar) {{ values (\"0\"); }} fall_constraint (scalar) {{ values (\"0\"); }} }}"
        )
    };
    let launch = "timing () { related_pin : \"RD_CLK\"; timing_type : rising_edge; \
                  cell_rise (scalar) { values (\"0\"); } cell_fall (scalar) { values (\"0\"); } \
                  rise_transition (scalar) { values (\"0.1\"); } fall_transition (scalar) { values (\"0.1\"); } }";
    for s in shapes {
        let _ = writeln!(
            l,
            "  cell ({}) {{\n    area : {:.1};\n    dont_touch : true;\n    dont_use : true;",
            s.cell(),
            s.area_um2()
        );
        for (name, width, out) in s.pins() {
            let head = if width == 1 {
                format!("pin ({name}) {{ ")
            } else {
                format!("bus ({name}) {{ bus_type : vdx_bus{width}; ")
            };
            let body = match name {
                "RD_CLK" | "WR_CLK" => format!("direction : input; clock : true; capacitance : {PIN_PF};"),
                // The read register's resets: asynchronous or tied off, so untimed.
                "RD_ARST" | "RD_SRST" => format!("direction : input; capacitance : {PIN_PF};"),
                _ if out => format!("direction : output; {launch}"),
                // One enable per bit, all driven by the memory's word enable in vdx designs: a
                // real macro takes that on one pin, so the bits share one pin's load.
                "WR_EN" => format!(
                    "direction : input; capacitance : {:.8}; {}",
                    PIN_PF / s.width as f64,
                    constraint("WR_CLK")
                ),
                _ if name.starts_with("RD_") => {
                    format!("direction : input; capacitance : {PIN_PF}; {}", constraint("RD_CLK"))
                }
                _ => format!("direction : input; capacitance : {PIN_PF}; {}", constraint("WR_CLK")),
            };
            let _ = writeln!(l, "    {head}{body} }}");
        }
        l.push_str("  }\n");
    }
    l.push_str("}\n");
    l
}
