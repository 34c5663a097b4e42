//! Endpoints grouped into pipeline stages: which register a flip-flop holds, and one
//! [`StageTiming`] row per stage, other register and the outputs (see [`super::stage_timing`]).

use super::sta::StaEnd;
use super::yosys::BitName;
use super::{OUTPUTS_GROUP, StageTiming, SynthError};
use std::collections::BTreeMap;
use std::path::Path;

/// Which [`StageTiming`] group an endpoint belongs to; the order is the row order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum StageKey {
    Stage(u32),
    Register(String),
    Outputs,
}

impl StageKey {
    /// The row's [`StageTiming::stage`].
    fn label(&self) -> String {
        match self {
            StageKey::Stage(k) => format!("s{k}"),
            StageKey::Register(r) => r.clone(),
            StageKey::Outputs => OUTPUTS_GROUP.to_string(),
        }
    }
}

/// The stage of register `reg` (a net name without bit index): `k` when it ends in `_s<k>_q`.
pub(super) fn stage_of(reg: &str) -> Option<u32> {
    let head = reg.strip_suffix("_q")?;
    let digits = &head[head.rfind("_s")? + 2..];
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// A net name without its bit index: `u_lane.s0_q[3]` → `u_lane.s0_q`.
pub(super) fn net_base(net: &str) -> &str {
    match net.strip_suffix(']').and_then(|n| n.rfind('[').map(|i| &n[..i])) {
        Some(base) => base,
        None => net,
    }
}

/// Whether net bit `bit` (`name[i]` or `name`) is named like a register (`…_q`).
fn is_register_bit(bit: &str) -> bool {
    net_base(bit).ends_with("_q")
}

/// The register bit a flip-flop holds, chosen among the names of the bit on its `Q` pin (all of
/// them: Yosys gives one net every name it has, such as `x_s9_q` and the unchanged `x_s10_d` it
/// drives, or two registers it merged): a pipeline stage register (`…_s<k>_q`) before any other
/// register name (`…_q`), the lexically first of each kind; without a register name, the
/// lexically first other name from the design. Names Yosys made up (`hide_name`) are never
/// taken: they are not the design's, and `netlist.v` spells them differently. `None` when no
/// name is left.
pub(super) fn register_name(names: &[BitName]) -> Option<String> {
    let first = |pick: &dyn Fn(&str) -> bool| {
        names.iter().filter(|b| !b.hidden && pick(&b.name)).map(|b| &b.name).min().cloned()
    };
    let register =
        |name: &str, stage: bool| is_register_bit(name) && stage_of(net_base(name)).is_some() == stage;
    first(&|n| register(n, true)).or_else(|| first(&|n| register(n, false))).or_else(|| first(&|_| true))
}

/// The flip-flops of [`super::yosys::Netlist::flop_q_names`] mapped to the register bit each holds
/// ([`register_name`]); a flip-flop whose `Q` bit has no name from the design is named after its
/// pin, `<instance>/Q`, as `netlist.v` and OpenSTA call it.
pub(super) fn flop_registers(q_names: &BTreeMap<String, Vec<BitName>>) -> BTreeMap<String, String> {
    q_names
        .iter()
        .map(|(inst, names)| (inst.clone(), register_name(names).unwrap_or_else(|| format!("{inst}/Q"))))
        .collect()
}

/// Groups the endpoints of the clock groups (not OpenSTA's `**…**` groups) into rows; `flops`
/// maps flip-flop instance names to the register bits they hold ([`flop_registers`]).
pub(super) fn group_stages(
    ends: &[StaEnd],
    flops: &BTreeMap<String, String>,
    file: &Path,
) -> Result<Vec<StageTiming>, SynthError> {
    let mut groups: BTreeMap<StageKey, StageTiming> = BTreeMap::new();
    for end in ends.iter().filter(|e| !e.group.starts_with("**")) {
        let (key, label) = if end.kind == "output" {
            (StageKey::Outputs, end.name.clone())
        } else {
            // OpenSTA escapes special characters of instance names with a backslash.
            let inst = end.name.rsplit_once('/').map_or(end.name.as_str(), |(i, _)| i).replace('\\', "");
            let q = flops.get(&inst).ok_or_else(|| SynthError::Parse {
                file: file.to_path_buf(),
                expected: format!(
                    "endpoints on flip-flops of netlist.json or on output ports, not `{} ({})`",
                    end.name, end.kind
                ),
            })?;
            let reg = net_base(q);
            let key = stage_of(reg).map_or_else(|| StageKey::Register(reg.to_string()), StageKey::Stage);
            (key, q.clone())
        };
        let stage = key.label();
        let row = groups.entry(key).or_insert_with(|| StageTiming {
            stage,
            endpoints: 0,
            worst_arrival_ns: f64::NEG_INFINITY,
            worst_slack_ns: f64::INFINITY,
            worst_endpoint: String::new(),
        });
        row.endpoints += 1;
        let later = end.arrival > row.worst_arrival_ns
            || (end.arrival == row.worst_arrival_ns && end.slack < row.worst_slack_ns);
        if later {
            row.worst_arrival_ns = end.arrival;
            row.worst_endpoint = label;
        }
        row.worst_slack_ns = row.worst_slack_ns.min(end.slack);
    }
    Ok(groups.into_values().collect())
}
