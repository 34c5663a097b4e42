//! The flow files `vdx gen` writes next to the Verilog of every generated block, each in the
//! format of the tool that reads it:
//!
//! | file | read by |
//! |---|---|
//! | `<instance>.f` | `verilator -F`, which resolves the paths from the file's own folder, so it works from any directory (`-f` resolves them from the current directory) |
//! | `<instance>.core` | FuseSoC (CAPI2): an `rtl` fileset and the targets `lint` (Verilator `-Wall`), `sim` (Icarus) and `synth` (Yosys) |
//! | `<instance>.sdc` | OpenSTA, OpenROAD and other SDC readers: the config's clock on `clk_i`, zero input and output delays |
//! | `<instance>.config.mk` | OpenROAD-flow-scripts (`make DESIGN_CONFIG=…/<instance>.config.mk`): `DESIGN_NAME`, `VERILOG_FILES`, `SDC_FILE`, `CLOCK_PERIOD`, … with absolute paths computed by make itself |
//! | `<instance>_params.h` | C and C++ testbenches and drivers: every parameter, derived value and port width as a `#define` |
//!
//! Every file starts with the generator line and the SPDX licence line, in the file's comment
//! syntax. The texts depend only on their inputs, so the same config gives byte-identical files.

use crate::hdl::{GENERATOR, PortDir, PortSpec};
use std::fmt::Write;

/// SPDX licence expression written into every generated file.
pub const SPDX: &str = "Apache-2.0 OR MIT";

/// Everything the flow files of one generated block say.
#[derive(Debug, Clone)]
pub struct BlockFlow<'a> {
    /// Config name.
    pub config: &'a str,
    /// Die name.
    pub die: &'a str,
    /// Instance name (names the files).
    pub instance: &'a str,
    /// Block name.
    pub block: &'a str,
    /// One-line description of the block.
    pub summary: &'a str,
    /// Top module.
    pub top: &'a str,
    /// Verilog files, dependencies first, the top last (names relative to the folder).
    pub files: &'a [String],
    /// Ports of the top.
    pub ports: &'a [PortSpec],
    /// Target clock in MHz.
    pub clock_mhz: f64,
    /// Effective parameters, then derived values, as `(name, value)`.
    pub params: &'a [(String, ParamValue)],
}

/// A parameter value as the flow files print it.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamValue {
    /// An integer.
    Int(i128),
    /// A real number.
    Float(f64),
    /// A flag.
    Bool(bool),
    /// Anything else.
    Text(String),
}

impl ParamValue {
    /// A value from a config table.
    pub fn from_toml(v: &toml::Value) -> Self {
        match v {
            toml::Value::Integer(i) => Self::Int(i128::from(*i)),
            toml::Value::Float(f) => Self::Float(*f),
            toml::Value::Boolean(b) => Self::Bool(*b),
            toml::Value::String(s) => Self::Text(s.clone()),
            other => Self::Text(other.to_string()),
        }
    }

    /// A value as a module header writes it (`30`, `0x7ea`, `1.5`, anything else as text).
    pub fn parse(text: &str) -> Self {
        let int = match text.strip_prefix("0x") {
            Some(hex) => i128::from_str_radix(hex, 16).ok(),
            None => text.parse::<i128>().ok(),
        };
        match (int, text.parse::<f64>()) {
            (Some(i), _) => Self::Int(i),
            (None, Ok(f)) if f.is_finite() => Self::Float(f),
            _ => match text {
                "true" => Self::Bool(true),
                "false" => Self::Bool(false),
                _ => Self::Text(text.to_string()),
            },
        }
    }

    /// The value as JSON.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Self::Int(i) => i64::try_from(*i).map_or_else(|_| i.to_string().into(), Into::into),
            Self::Float(f) => (*f).into(),
            Self::Bool(b) => (*b).into(),
            Self::Text(s) => s.clone().into(),
        }
    }

    fn c_literal(&self) -> String {
        match self {
            Self::Int(i) if *i > i128::from(i64::MAX) => format!("{i}ULL"),
            Self::Int(i) if *i > i128::from(i32::MAX) || *i < i128::from(i32::MIN) => format!("{i}LL"),
            Self::Int(i) => i.to_string(),
            Self::Float(f) => format!("{f:?}"),
            Self::Bool(b) => u8::from(*b).to_string(),
            Self::Text(s) => format!("{s:?}"),
        }
    }
}

/// Clock period in ns, rounded to the ps.
fn period_ns(mhz: f64) -> String {
    format!("{:.3}", 1000.0 / mhz)
}

fn has_clock(ports: &[PortSpec]) -> bool {
    ports.iter().any(|p| p.name == crate::sim::CLOCK_PORT && p.dir == PortDir::Input)
}

fn header(comment: &str, flow: &BlockFlow<'_>) -> String {
    format!(
        "{comment} {GENERATOR} -- generated, do not edit\n{comment} SPDX-License-Identifier: {SPDX}\n\
         {comment} {} ({}) on die {} of config {}: top {}\n",
        flow.instance, flow.block, flow.die, flow.config, flow.top
    )
}

/// `<instance>.f`: one Verilog file per line, relative to the filelist's folder (`verilator -F`).
pub fn filelist(flow: &BlockFlow<'_>) -> String {
    flow.files.iter().map(|f| format!("{f}\n")).collect()
}

/// `<instance>.sdc`: the clock and zero-delay I/O constraints. A top without `clk_i` gets a
/// virtual clock, so its port-to-port paths are timed against the period.
pub fn sdc(flow: &BlockFlow<'_>) -> String {
    let mut s = header("#", flow);
    let period = period_ns(flow.clock_mhz);
    let clock = crate::sim::CLOCK_PORT;
    let ports = |dir: PortDir| -> String {
        let names: Vec<&str> =
            flow.ports.iter().filter(|p| p.dir == dir && p.name != clock).map(|p| p.name.as_str()).collect();
        names.join(" ")
    };
    let _ = writeln!(s, "# {} MHz", flow.clock_mhz);
    if has_clock(flow.ports) {
        let _ = writeln!(s, "create_clock -name clk -period {period} [get_ports {{{clock}}}]");
    } else {
        let _ = writeln!(s, "create_clock -name clk -period {period}");
    }
    let (inputs, outputs) = (ports(PortDir::Input), ports(PortDir::Output));
    if !inputs.is_empty() {
        let _ = writeln!(s, "set_input_delay 0 -clock clk [get_ports {{{inputs}}}]");
    }
    if !outputs.is_empty() {
        let _ = writeln!(s, "set_output_delay 0 -clock clk [get_ports {{{outputs}}}]");
    }
    s
}

/// `<instance>.config.mk` for OpenROAD-flow-scripts. Paths are made absolute by make from the
/// folder of this file, so the folder can move; `PLATFORM` and the floorplan knobs are `?=`
/// defaults the user overrides on the command line.
pub fn orfs_config(flow: &BlockFlow<'_>) -> String {
    let mut s = header("#", flow);
    let _ = writeln!(s, "VDX_DIR := $(dir $(abspath $(lastword $(MAKEFILE_LIST))))");
    let _ = writeln!(s, "export DESIGN_NAME = {}", flow.top);
    let _ = writeln!(s, "export DESIGN_NICKNAME = {}_{}_{}", flow.config, flow.die, flow.instance);
    let _ = writeln!(s, "export PLATFORM ?= sky130hd");
    let files: Vec<String> = flow.files.iter().map(|f| format!("$(VDX_DIR){f}")).collect();
    let _ = writeln!(s, "export VERILOG_FILES = {}", files.join(" "));
    let _ = writeln!(s, "export SDC_FILE = $(VDX_DIR){}.sdc", flow.instance);
    let _ = writeln!(s, "export CLOCK_PERIOD = {}", period_ns(flow.clock_mhz));
    let _ = writeln!(s, "export ABC_CLOCK_PERIOD_IN_PS = {:.0}", 1e6 / flow.clock_mhz);
    let _ = writeln!(s, "export CORE_UTILIZATION ?= 40");
    let _ = writeln!(s, "export PLACE_DENSITY ?= 0.60");
    s
}

/// `<instance>.core`: a FuseSoC CAPI2 core with the block's files and lint, sim and synth
/// targets.
pub fn fusesoc_core(flow: &BlockFlow<'_>) -> String {
    // CAPI2 requires `CAPI=2:` as the very first line.
    let mut s = String::from("CAPI=2:\n");
    s.push_str(&header("#", flow));
    let version = env!("CARGO_PKG_VERSION");
    let _ = writeln!(s, "name: vdx:{}_{}:{}:{version}", flow.config, flow.die, flow.instance);
    let _ = writeln!(s, "description: \"{}: {}\"", flow.block, flow.summary.replace('"', "'"));
    s.push_str("filesets:\n  rtl:\n    file_type: verilogSource\n    files:\n");
    for f in flow.files {
        let _ = writeln!(s, "      - {f}");
    }
    let _ = writeln!(s, "  constraints:\n    file_type: SDC\n    files:\n      - {}.sdc", flow.instance);
    // Edalize's flow API (the tool API is deprecated): lint with Verilator -Wall, simulate
    // with Icarus, synthesize with Yosys (a generic ice40 mapping; `vdx synth` is the ASIC flow).
    s.push_str("targets:\n");
    let target = |s: &mut String, name: &str, filesets: &str, flow_name: &str, options: &str| {
        let _ = write!(
            s,
            "  {name}:\n    filesets: [{filesets}]\n    toplevel: {}\n    flow: {flow_name}\n    flow_options:\n{options}",
            flow.top
        );
    };
    let lint = "      tool: verilator\n      verilator_options: [-Wall]\n";
    target(&mut s, "default", "rtl", "lint", lint);
    target(&mut s, "lint", "rtl", "lint", lint);
    target(&mut s, "sim", "rtl", "sim", "      tool: icarus\n      iverilog_options: [-g2005]\n");
    target(&mut s, "synth", "rtl, constraints", "generic", "      tool: yosys\n      arch: ice40\n");
    s
}

/// `<instance>_params.h`: `VDX_<INSTANCE>_<NAME>` for every parameter and derived value, the
/// top's name, the clock, and `VDX_<INSTANCE>_<PORT>_WIDTH` for every port.
pub fn params_header(flow: &BlockFlow<'_>) -> String {
    let mut s = header("//", flow);
    let guard = format!("VDX_{}_{}_{}_PARAMS_H", flow.config, flow.die, flow.instance).to_uppercase();
    let prefix = format!("VDX_{}", flow.instance.to_uppercase());
    let _ = writeln!(s, "#ifndef {guard}\n#define {guard}\n");
    let _ = writeln!(s, "#define {prefix}_TOP {:?}", flow.top);
    let _ = writeln!(s, "#define {prefix}_BLOCK {:?}", flow.block);
    let _ = writeln!(s, "#define {prefix}_CLOCK_MHZ {:?}", flow.clock_mhz);
    let mut seen = std::collections::BTreeSet::new();
    for (name, value) in flow.params {
        if seen.insert(name.to_uppercase()) {
            let _ = writeln!(s, "#define {prefix}_{} {}", name.to_uppercase(), value.c_literal());
        }
    }
    for p in flow.ports {
        let _ = writeln!(s, "#define {prefix}_{}_WIDTH {}", p.name.to_uppercase(), p.width);
    }
    let _ = writeln!(s, "\n#endif /* {guard} */");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn port(name: &str, dir: PortDir, width: u32) -> PortSpec {
        PortSpec { name: name.into(), dir, width, signed: false }
    }

    #[test]
    fn values_keep_their_type() {
        assert_eq!(ParamValue::parse("0x7ea"), ParamValue::Int(2026));
        assert_eq!(ParamValue::parse("30"), ParamValue::Int(30));
        assert_eq!(ParamValue::parse("1.5"), ParamValue::Float(1.5));
        assert_eq!(ParamValue::parse("nan"), ParamValue::Text("nan".into()));
        assert_eq!(ParamValue::Int(i128::from(u64::MAX)).c_literal(), "18446744073709551615ULL");
        assert_eq!(ParamValue::Int(-3).c_literal(), "-3");
    }

    #[test]
    fn combinational_tops_get_a_virtual_clock() {
        let files = vec!["a.v".to_string()];
        let ports = [port("a_i", PortDir::Input, 4), port("y_o", PortDir::Output, 4)];
        let flow = BlockFlow {
            config: "c",
            die: "d",
            instance: "x",
            block: "b",
            summary: "s",
            top: "t",
            files: &files,
            ports: &ports,
            clock_mhz: 500.0,
            params: &[],
        };
        let text = sdc(&flow);
        assert!(text.contains("create_clock -name clk -period 2.000\n"), "{text}");
        assert!(text.contains("set_input_delay 0 -clock clk [get_ports {a_i}]"), "{text}");
    }
}
