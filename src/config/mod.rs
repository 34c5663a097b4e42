//! Die configurations: the TOML schema, its validation into typed block parameters, and the
//! embedded default (the VDX-1 package).
//!
//! ```toml
//! name = "vdx1"
//! clock_mhz = 1500.0
//! [dies.utility.blocks.noise_lane0]   # dies.<die>.blocks.<instance>
//! block = "xoshiro_lane"              # defaults to the instance name
//! seed = 2026                         # every other key is a block parameter
//! ```

use crate::blocks::{self, Elaborated};
use crate::hdl::names::legalize;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

/// The built-in configuration, used when no `--config` is given.
pub const DEFAULT_CONFIG: &str = include_str!("../../configs/vdx1.toml");

/// Largest config file vdx reads (a real one is a few KB).
pub const MAX_CONFIG_BYTES: u64 = 4 << 20;

/// Longest line of a parse error that is echoed back (the parser quotes the offending line).
const MAX_ECHO: usize = 160;

/// Shortens every line of a message to [`MAX_ECHO`] characters.
fn shorten(message: &str) -> String {
    message
        .lines()
        .map(|l| {
            if l.chars().count() > MAX_ECHO {
                format!("{}…", l.chars().take(MAX_ECHO).collect::<String>())
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Where the default configuration's errors are reported from.
pub const DEFAULT_SOURCE: &str = "<embedded default config vdx1.toml>";

/// The file as written.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    prefix: String,
    clock_mhz: f64,
    dies: BTreeMap<String, RawDie>,
    #[serde(default)]
    links: Vec<RawLink>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLink {
    a: String,
    b: String,
}

/// One UCIe link of the package: two `ucie_adapter` instances on different dies, `(die,
/// instance)` each.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Link {
    /// One end.
    pub a: (String, String),
    /// The other end.
    pub b: (String, String),
}

/// The parameters both ends of a link must agree on.
const LINK_MATCH: [&str; 5] = ["bytes", "credits", "modules", "lanes", "gt_s"];

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDie {
    #[serde(default)]
    role: String,
    #[serde(default)]
    fabric_bits: Option<u32>,
    #[serde(default)]
    scratchpad_kib: Option<u64>,
    #[serde(default)]
    weight_sram_kib: Option<u64>,
    #[serde(default)]
    read_channels: Option<u32>,
    #[serde(default)]
    sram_budget_kib: Option<u64>,
    #[serde(default)]
    blocks: BTreeMap<String, toml::Table>,
}

/// A die's fabric and memories: what its top ([`crate::die`]) puts around the blocks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fabric {
    /// Bits of every stream of the die's switch, and of a memory word (`fabric_bits`, a multiple
    /// of 8 in 8..=4096; default 256).
    pub bits: u32,
    /// Activation scratchpad (dual-port SRAM) in KiB (`scratchpad_kib`; 0 for none; default 0).
    pub scratchpad_kib: u64,
    /// Weight SRAM (single-port) in KiB (`weight_sram_kib`; 0 for none; default 0).
    pub weight_sram_kib: u64,
    /// Read DMA channels of the scratchpad (`read_channels`, 1..=8; default 3: enough for the
    /// spatial engine's Q, K and V at once).
    pub read_channels: u32,
    /// SRAM the die may hold in KiB, blocks' memories included (`sram_budget_kib`; none when
    /// absent).
    pub sram_budget_kib: Option<u64>,
}

impl Default for Fabric {
    fn default() -> Self {
        Fabric { bits: 256, scratchpad_kib: 0, weight_sram_kib: 0, read_channels: 3, sram_budget_kib: None }
    }
}

/// Largest memory a die may configure, in KiB (16 GiB: the whole VDX-1 weight set twice over).
pub const MAX_MEMORY_KIB: u64 = 16 << 20;

impl Fabric {
    fn from_raw(raw: &RawDie, at: &str, issues: &mut Vec<String>) -> Fabric {
        let d = Fabric::default();
        let f = Fabric {
            bits: raw.fabric_bits.unwrap_or(d.bits),
            scratchpad_kib: raw.scratchpad_kib.unwrap_or(0),
            weight_sram_kib: raw.weight_sram_kib.unwrap_or(0),
            read_channels: raw.read_channels.unwrap_or(d.read_channels),
            sram_budget_kib: raw.sram_budget_kib,
        };
        if !(8..=4096).contains(&f.bits) || !f.bits.is_multiple_of(8) {
            issues.push(format!("{at}.fabric_bits: {} must be a multiple of 8 in 8..=4096", f.bits));
        }
        if !(1..=8).contains(&f.read_channels) {
            issues.push(format!("{at}.read_channels: {} is out of range 1..=8", f.read_channels));
        }
        for (field, kib) in [("scratchpad_kib", f.scratchpad_kib), ("weight_sram_kib", f.weight_sram_kib)] {
            if kib > MAX_MEMORY_KIB {
                issues.push(format!("{at}.{field}: {kib} is out of range 0..={MAX_MEMORY_KIB}"));
            } else if f.bits.is_multiple_of(8) && f.bits > 0 && (kib * 8192) % u64::from(f.bits) != 0 {
                issues.push(format!("{at}.{field}: {kib} KiB is not a whole number of {}-bit words", f.bits));
            }
        }
        f
    }

    /// Words of a memory of `kib` KiB.
    pub fn words(&self, kib: u64) -> u64 {
        kib * 8192 / u64::from(self.bits)
    }
}

/// A validated configuration.
#[derive(Debug)]
pub struct DieConfig {
    /// Configuration name (a legal identifier; names the output folder).
    pub name: String,
    /// Free text.
    pub description: String,
    /// Prefix of every generated module name (empty for none): a namespace for output that is
    /// compiled together with other Verilog.
    pub prefix: String,
    /// Target clock in MHz.
    pub clock_mhz: f64,
    /// File it came from, or [`DEFAULT_SOURCE`].
    pub source: String,
    /// Dies, sorted by name.
    pub dies: Vec<Die>,
    /// UCIe links between dies (`[[links]]`, `a = "<die>.<instance>"`, `b = …`).
    pub links: Vec<Link>,
}

/// One die of a configuration.
#[derive(Debug)]
pub struct Die {
    /// Die name (a legal identifier).
    pub name: String,
    /// Free text.
    pub role: String,
    /// Its fabric and memories.
    pub fabric: Fabric,
    /// Block instances, sorted by instance name.
    pub blocks: Vec<BlockInstance>,
}

/// One block instance on a die.
#[derive(Debug)]
pub struct BlockInstance {
    /// Instance name (a legal identifier).
    pub instance: String,
    /// Block name.
    pub block: &'static str,
    /// The validated block, or `None` when this version of vdx does not implement the block yet.
    pub elaborated: Option<Box<dyn Elaborated>>,
    /// Parameters as written (for blocks that are not available).
    pub raw: toml::Table,
}

/// A configuration that failed to load; lists every problem found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    /// File (or [`DEFAULT_SOURCE`]).
    pub source_name: String,
    /// `field.path: message` lines.
    pub issues: Vec<String>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid config {}:", self.source_name)?;
        for i in &self.issues {
            write!(f, "\n  {i}")?;
        }
        Ok(())
    }
}

impl DieConfig {
    /// The embedded VDX-1 configuration.
    pub fn default_config() -> Result<Self, ConfigError> {
        Self::parse(DEFAULT_CONFIG, DEFAULT_SOURCE)
    }

    /// Reads and validates a configuration file. Only a regular file of at most
    /// [`MAX_CONFIG_BYTES`] is read (a FIFO or `/dev/zero` would hang or grow without bound).
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        use std::io::Read;
        let fail =
            |issue: String| ConfigError { source_name: path.display().to_string(), issues: vec![issue] };
        let meta = std::fs::metadata(path).map_err(|e| fail(format!("cannot read: {e}")))?;
        if !meta.is_file() {
            return Err(fail("cannot read: not a regular file (a config is a TOML file)".into()));
        }
        if meta.len() > MAX_CONFIG_BYTES {
            return Err(fail(format!(
                "cannot read: {} bytes is larger than the {MAX_CONFIG_BYTES}-byte limit",
                meta.len()
            )));
        }
        let mut bytes = Vec::new();
        std::fs::File::open(path)
            .and_then(|f| f.take(MAX_CONFIG_BYTES + 1).read_to_end(&mut bytes))
            .map_err(|e| fail(format!("cannot read: {e}")))?;
        if bytes.len() as u64 > MAX_CONFIG_BYTES {
            return Err(fail(format!("cannot read: larger than the {MAX_CONFIG_BYTES}-byte limit")));
        }
        let text =
            String::from_utf8(bytes).map_err(|e| fail(format!("cannot read: not UTF-8 text ({e})")))?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Parses and validates configuration text; `source` names it in errors.
    pub fn parse(text: &str, source: &str) -> Result<Self, ConfigError> {
        let fail = |issues: Vec<String>| ConfigError { source_name: source.to_string(), issues };
        let raw: RawConfig = {
            let de = toml::Deserializer::parse(text).map_err(|e| fail(vec![shorten(&e.to_string())]))?;
            serde_path_to_error::deserialize(de).map_err(|e| {
                let path = e.path().to_string();
                fail(vec![format!("{path}: {}", shorten(e.into_inner().message().trim()))])
            })?
        };
        let mut issues = Vec::new();
        check_name(&raw.name, "name", &mut issues);
        if !raw.prefix.is_empty() {
            check_name(&raw.prefix, "prefix", &mut issues);
        }
        if !(raw.clock_mhz > 0.0 && raw.clock_mhz <= 10_000.0) {
            issues.push(format!("clock_mhz: {} is out of range (0, 10000]", raw.clock_mhz));
        }
        if raw.dies.is_empty() {
            issues.push("dies: the config has no dies; add a [dies.<name>] table".into());
        }
        let mut dies = Vec::new();
        for (die_name, die) in &raw.dies {
            check_name(die_name, &format!("dies.{die_name}"), &mut issues);
            if die_name == "package" {
                issues.push(
                    "dies.package: the die name `package` is taken by the package top's folder".to_string(),
                );
            }
            let fabric = Fabric::from_raw(die, &format!("dies.{die_name}"), &mut issues);
            if die.blocks.is_empty() {
                issues.push(format!(
                    "dies.{die_name}: the die has no blocks; add a [dies.{die_name}.blocks.<instance>] table"
                ));
            }
            let mut blocks_out = Vec::new();
            for (inst, table) in &die.blocks {
                let at = format!("dies.{die_name}.blocks.{inst}");
                check_name(inst, &at, &mut issues);
                if inst == "die" || inst == "host" || inst == "switch" {
                    issues.push(format!(
                        "{at}: the instance name `{inst}` is taken by the die top's own files and registers"
                    ));
                }
                if let Some(b) = elaborate_instance(inst, table, &at, &mut issues) {
                    blocks_out.push(b);
                }
            }
            dies.push(Die { name: die_name.clone(), role: die.role.clone(), fabric, blocks: blocks_out });
        }
        let links = if issues.is_empty() { check_links(&raw.links, &dies, &mut issues) } else { Vec::new() };
        if !issues.is_empty() {
            return Err(fail(issues));
        }
        Ok(DieConfig {
            name: raw.name,
            description: raw.description,
            prefix: raw.prefix,
            clock_mhz: raw.clock_mhz,
            source: source.into(),
            dies,
            links,
        })
    }

    /// The die called `name`, or an error listing the dies.
    pub fn die(&self, name: &str) -> Result<&Die, ConfigError> {
        self.dies.iter().find(|d| d.name == name).ok_or_else(|| ConfigError {
            source_name: self.source.clone(),
            issues: vec![format!(
                "no die `{name}`; dies: {}",
                self.dies.iter().map(|d| d.name.as_str()).collect::<Vec<_>>().join(", ")
            )],
        })
    }

    /// The effective configuration as TOML: defaults filled in for every available block.
    pub fn to_toml(&self) -> String {
        let mut root = toml::Table::new();
        root.insert("name".into(), self.name.clone().into());
        if !self.description.is_empty() {
            root.insert("description".into(), self.description.clone().into());
        }
        if !self.prefix.is_empty() {
            root.insert("prefix".into(), self.prefix.clone().into());
        }
        root.insert("clock_mhz".into(), self.clock_mhz.into());
        let mut dies = toml::Table::new();
        for d in &self.dies {
            let mut die = toml::Table::new();
            if !d.role.is_empty() {
                die.insert("role".into(), d.role.clone().into());
            }
            let f = &d.fabric;
            die.insert("fabric_bits".into(), i64::from(f.bits).into());
            die.insert("scratchpad_kib".into(), (f.scratchpad_kib as i64).into());
            die.insert("weight_sram_kib".into(), (f.weight_sram_kib as i64).into());
            die.insert("read_channels".into(), i64::from(f.read_channels).into());
            if let Some(b) = f.sram_budget_kib {
                die.insert("sram_budget_kib".into(), (b as i64).into());
            }
            let mut blocks_t = toml::Table::new();
            for b in &d.blocks {
                let mut t = toml::Table::new();
                t.insert("block".into(), b.block.into());
                let params = b.elaborated.as_ref().map(|e| e.params_table()).unwrap_or_else(|| b.raw.clone());
                t.extend(params);
                blocks_t.insert(b.instance.clone(), t.into());
            }
            die.insert("blocks".into(), blocks_t.into());
            dies.insert(d.name.clone(), die.into());
        }
        root.insert("dies".into(), dies.into());
        if !self.links.is_empty() {
            let links: Vec<toml::Value> = self
                .links
                .iter()
                .map(|l| {
                    let mut t = toml::Table::new();
                    t.insert("a".into(), format!("{}.{}", l.a.0, l.a.1).into());
                    t.insert("b".into(), format!("{}.{}", l.b.0, l.b.1).into());
                    t.into()
                })
                .collect();
            root.insert("links".into(), links.into());
        }
        let mut text = format!("# effective configuration from {}\n", self.source);
        text.push_str(&toml::to_string(&root).unwrap_or_else(|e| unreachable!("tables serialize: {e}")));
        text
    }
}

/// Checks the package's links: each end is a `ucie_adapter` instance, the two ends sit on
/// different dies and agree on [`LINK_MATCH`], no adapter is in two links, and in a package of
/// several dies every adapter is in one (a PHY port with nothing across is a wiring mistake).
fn check_links(raw: &[RawLink], dies: &[Die], issues: &mut Vec<String>) -> Vec<Link> {
    let adapters: Vec<(String, String, toml::Table)> = dies
        .iter()
        .flat_map(|d| {
            d.blocks.iter().filter(|b| b.block == "ucie_adapter").map(move |b| {
                let t = b.elaborated.as_ref().map(|e| e.params_table()).unwrap_or_default();
                (d.name.clone(), b.instance.clone(), t)
            })
        })
        .collect();
    let mut links = Vec::new();
    let mut used: Vec<(String, String, usize)> = Vec::new();
    for (i, l) in raw.iter().enumerate() {
        let mut ends = Vec::new();
        for (key, end) in [("a", &l.a), ("b", &l.b)] {
            let at = format!("links[{i}].{key}");
            let Some((die, inst)) = end.split_once('.') else {
                issues.push(format!("{at}: `{end}` must be `<die>.<instance>`"));
                continue;
            };
            match adapters.iter().find(|(d, n, _)| d == die && n == inst) {
                Some(a) => ends.push(a.clone()),
                None if dies.iter().any(|d| d.name == die && d.blocks.iter().any(|b| b.instance == inst)) => {
                    issues
                        .push(format!("{at}: `{end}` is not a ucie_adapter; a link joins two UCIe adapters"))
                }
                None => {
                    let known: Vec<String> = adapters.iter().map(|(d, n, _)| format!("{d}.{n}")).collect();
                    issues.push(format!("{at}: no UCIe adapter `{end}`; adapters: {}", known.join(", ")))
                }
            }
            if let Some((_, _, first)) =
                used.iter().find(|(d, n, _)| Some((d.as_str(), n.as_str())) == end.split_once('.'))
            {
                issues.push(format!(
                    "{at}: `{end}` is already an end of links[{first}]; an adapter has one link"
                ));
            }
            if let Some((d, n)) = end.split_once('.') {
                used.push((d.to_string(), n.to_string(), i));
            }
        }
        if let [(da, na, ta), (db, nb, tb)] = ends.as_slice() {
            if da == db {
                issues.push(format!("links[{i}]: both ends are on die {da}; a UCIe link joins two dies"));
            }
            for k in LINK_MATCH {
                if ta.get(k) != tb.get(k) {
                    let show =
                        |t: &toml::Table| t.get(k).map(|v| v.to_string()).unwrap_or_else(|| "?".into());
                    issues.push(format!(
                        "links[{i}]: {k} differs between {da}.{na} ({}) and {db}.{nb} ({}); both ends of a link must agree",
                        show(ta),
                        show(tb)
                    ));
                }
            }
            let fabric = |d: &str| dies.iter().find(|x| x.name == d).map(|x| x.fabric.bits).unwrap_or(0);
            if fabric(da) != fabric(db) {
                issues.push(format!(
                    "links[{i}]: dies {da} and {db} have different fabric_bits ({} and {}); a link carries switch beats of one width",
                    fabric(da),
                    fabric(db)
                ));
            }
            links.push(Link { a: (da.clone(), na.clone()), b: (db.clone(), nb.clone()) });
        }
    }
    if dies.len() > 1 {
        for (d, n, _) in &adapters {
            if !used.iter().any(|(ud, un, _)| ud == d && un == n) {
                issues.push(format!(
                    "dies.{d}.blocks.{n}: this UCIe adapter is in no link; pair it with an adapter on another die in [[links]] (a = \"{d}.{n}\", b = …)"
                ));
            }
        }
    }
    links
}

/// Names become folder names and manifest keys: plain lower-case identifiers, so they read the
/// same everywhere. (Verilog keywords are fine: no name from a config becomes a Verilog name.)
fn check_name(name: &str, at: &str, issues: &mut Vec<String>) {
    if !crate::hdl::names::is_plain_identifier(name) {
        let suggestion = legalize(name);
        let suggestion =
            suggestion.strip_suffix("_x").filter(|s| crate::hdl::names::is_keyword(s)).unwrap_or(&suggestion);
        issues.push(format!("{at}: name `{name}` must be a lower-case identifier (e.g. `{suggestion}`)"));
    }
}

/// `at.field`, or `--set field` for command-line overrides (`at` ends in a space).
fn field_path(at: &str, field: &str) -> String {
    if at.ends_with(' ') { format!("{at}{field}") } else { format!("{at}.{field}") }
}

/// Validates one block instance; `None` (with issues recorded) when it is invalid.
pub fn elaborate_instance(
    instance: &str,
    table: &toml::Table,
    at: &str,
    issues: &mut Vec<String>,
) -> Option<BlockInstance> {
    let mut params = table.clone();
    let block_name = match params.remove("block") {
        None => instance.to_string(),
        Some(toml::Value::String(s)) => s,
        Some(other) => {
            issues.push(format!("{at}.block: expected a block name string, got {}", other.type_str()));
            return None;
        }
    };
    let Some(entry) = blocks::find(&block_name) else {
        let field = if table.contains_key("block") { format!("{at}.block") } else { at.to_string() };
        issues.push(format!("{field}: unknown block `{block_name}`; blocks: {}", blocks::names()));
        return None;
    };
    let elaborated = match entry.kind {
        None => {
            // Not implemented yet: the parameters it will take are known, so typos and wrong
            // types are caught now rather than when the block arrives.
            let before = issues.len();
            for (key, value) in &params {
                match entry.planned.iter().find(|(name, _)| name == key) {
                    None => {
                        let known: Vec<&str> = entry.planned.iter().map(|(n, _)| *n).collect();
                        let known = if known.is_empty() { "none".to_string() } else { known.join(", ") };
                        issues.push(format!(
                            "{}: unknown parameter of {} (not available yet; its parameters: {known})",
                            field_path(at, key),
                            entry.name
                        ));
                    }
                    Some((_, kind)) if value.type_str() != *kind => issues.push(format!(
                        "{}: invalid type: expected {kind}, got {}",
                        field_path(at, key),
                        value.type_str()
                    )),
                    Some(_) => {}
                }
            }
            if issues.len() > before {
                return None;
            }
            None
        }
        Some(kind) => match kind.elaborate(&params) {
            Ok(e) => Some(e),
            Err(field_issues) => {
                for fi in field_issues {
                    issues.push(format!("{}: {}", field_path(at, &fi.field), fi.message));
                }
                return None;
            }
        },
    };
    Some(BlockInstance { instance: instance.to_string(), block: entry.name, elaborated, raw: params })
}

#[cfg(test)]
mod tests;
