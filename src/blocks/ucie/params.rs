//! Parameters of `ucie_adapter` and the link's bandwidth accounting.

use crate::blocks::{BlockParams, CosimReport, CosimRun, FieldIssue, ParamInfo, check_pow2, check_range};
use crate::hdl::{HdlError, Module};
use crate::sim::SimError;
use serde::{Deserialize, Serialize};

/// Bytes in one flit of the standard 256-byte formats.
pub const FLIT_BYTES: u32 = 256;

/// Parameters of `ucie_adapter`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UcieAdapterParams {
    /// Datapath bytes per cycle on both sides (32, 64 or 128): a 256-byte flit takes
    /// `256 / bytes` cycles.
    pub bytes: u32,
    /// Flits the transmit replay buffer holds (a power of two, 4..=64): at most this many flits
    /// are sent and not yet acknowledged.
    pub replay_depth: u32,
    /// Flits the far protocol layer's receive buffer holds (1..=127): the transmitter's credits
    /// after reset.
    pub credits: u32,
    /// UCIe modules of the link (1..=4), for the bandwidth accounting.
    pub modules: u32,
    /// Data lanes per module (16 for a standard package, 64 for an advanced one).
    pub lanes: u32,
    /// Transfer rate per lane in GT/s (4, 8, 12, 16, 24 or 32, the rates UCIe defines).
    pub gt_s: u32,
}

impl Default for UcieAdapterParams {
    fn default() -> Self {
        UcieAdapterParams { bytes: 64, replay_depth: 32, credits: 32, modules: 4, lanes: 64, gt_s: 32 }
    }
}

/// The UCIe data rates per lane, GT/s.
pub const RATES_GT_S: [u32; 6] = [4, 8, 12, 16, 24, 32];

impl BlockParams for UcieAdapterParams {
    const BLOCK: &'static str = "ucie_adapter";
    const SUMMARY: &'static str =
        "UCIe die-to-die adapter: 256B flits, CRC-16, retry/replay, credits, link states";

    fn describe() -> Vec<ParamInfo> {
        let d = Self::default();
        let p = |name, doc, default: String, range| ParamInfo { name, doc, default, range };
        vec![
            p("bytes", "datapath bytes per cycle", d.bytes.to_string(), "32, 64, 128"),
            p(
                "replay_depth",
                "flits in the replay buffer",
                d.replay_depth.to_string(),
                "power of two 4..=64",
            ),
            p(
                "credits",
                "flits of the far protocol layer's receive buffer",
                d.credits.to_string(),
                "1..=127",
            ),
            p("modules", "UCIe modules of the link (bandwidth accounting)", d.modules.to_string(), "1..=4"),
            p("lanes", "data lanes per module", d.lanes.to_string(), "16, 64"),
            p("gt_s", "GT/s per lane", d.gt_s.to_string(), "4, 8, 12, 16, 24, 32"),
        ]
    }

    fn validate(&self) -> Vec<FieldIssue> {
        self.issues()
    }

    fn build(&self) -> Result<Module, HdlError> {
        super::adapter::build(self)
    }

    fn cosim(&self, run: CosimRun) -> Result<CosimReport, SimError> {
        super::loopback::cosim_verilator(self, run)
    }
}

impl UcieAdapterParams {
    /// Range checks; an empty list means valid.
    fn issues(&self) -> Vec<FieldIssue> {
        let mut issues = Vec::new();
        if ![32, 64, 128].contains(&self.bytes) {
            issues.push(FieldIssue {
                field: "bytes".into(),
                message: format!("{} must be 32, 64 or 128", self.bytes),
            });
        }
        check_pow2(&mut issues, "replay_depth", u64::from(self.replay_depth), 4, 64);
        check_range(&mut issues, "credits", self.credits, 1, 127);
        check_range(&mut issues, "modules", self.modules, 1, 4);
        if ![16, 64].contains(&self.lanes) {
            issues.push(FieldIssue {
                field: "lanes".into(),
                message: format!("{} must be 16 (standard package) or 64 (advanced package)", self.lanes),
            });
        }
        if !RATES_GT_S.contains(&self.gt_s) {
            issues.push(FieldIssue {
                field: "gt_s".into(),
                message: format!("{} must be one of {RATES_GT_S:?}", self.gt_s),
            });
        }
        issues
    }

    /// Chunks (cycles) of one flit on the datapath.
    pub fn chunks(&self) -> u32 {
        FLIT_BYTES / self.bytes
    }

    /// The link's bandwidth per direction at a datapath clock of `clock_mhz`.
    pub fn bandwidth(&self, clock_mhz: f64, payload_bytes_per_flit: u32) -> Bandwidth {
        let raw_gb_s = f64::from(self.modules * self.lanes * self.gt_s) / 8.0;
        let per_module_gb_s = f64::from(self.lanes * self.gt_s) / 8.0;
        let payload_fraction = f64::from(payload_bytes_per_flit) / f64::from(FLIT_BYTES);
        let datapath_gb_s = f64::from(self.bytes) * clock_mhz / 1000.0;
        Bandwidth {
            raw_gb_s,
            payload_gb_s: raw_gb_s * payload_fraction,
            datapath_gb_s,
            adapters_per_module: (per_module_gb_s / datapath_gb_s).ceil() as u32,
            modules_for_800_gb_s: (800.0 / (per_module_gb_s * payload_fraction)).ceil() as u32,
        }
    }
}

/// Bandwidth of a link per direction (GB/s are 10^9 bytes per second).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bandwidth {
    /// Bytes the lanes move: modules × lanes × GT/s ÷ 8.
    pub raw_gb_s: f64,
    /// The part of it that is flit payload (no header, CRC or reserved bytes), with no errors.
    pub payload_gb_s: f64,
    /// What one adapter's datapath moves: `bytes` × clock.
    pub datapath_gb_s: f64,
    /// Adapters one module needs so that their datapaths keep up with its lanes.
    pub adapters_per_module: u32,
    /// Modules of this kind whose payload bandwidth reaches 800 GB/s (VDX-1's link).
    pub modules_for_800_gb_s: u32,
}
