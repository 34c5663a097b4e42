//! The package top: `vdx_<config>_package`, every die top of a config with its UCIe links
//! wired die to die, the way the interposer joins them.
//!
//! For each link `a` ↔ `b` of the config, adapter `a`'s PHY transmit side (`phy_tx_valid_o`,
//! `phy_tx_sof_o`, `phy_tx_data_o`) drives `b`'s receive side and the other way round. The
//! channel is ideal: no latency, no errors, always ready (`phy_tx_ready_i` is 1); the link is
//! up while the package input `link<i>_up_i` is high (link `i` in the config's order), so a
//! bench can take it down. Every other port of die `d` is a package port `d_<port>` (its
//! AXI4-Lite slave, its host streams, the edge ports of adapters in no link); `clk_i` and
//! `rst_ni` are shared.

use super::{DieError, DieTop};
use crate::config::Link;
use crate::hdl::{Module, ModuleBuilder, PortDir, Signal};
use std::collections::BTreeMap;

/// The PHY ports of an adapter's die-edge that a link joins: `(receive input, transmit output)`.
const PHY: [(&str, &str); 3] = [
    ("phy_rx_valid_i", "phy_tx_valid_o"),
    ("phy_rx_sof_i", "phy_tx_sof_o"),
    ("phy_rx_data_i", "phy_tx_data_o"),
];

/// Builds the package top of `config` from its die tops (`(die, top)`) and links.
pub fn build(config: &str, dies: &[(&str, &DieTop)], links: &[Link]) -> Result<Module, DieError> {
    let m = ModuleBuilder::new(&crate::hdl::names::legalize(&format!("vdx_{config}_package")));
    m.block("package").param("config", config);
    let names: Vec<&str> = dies.iter().map(|(d, _)| *d).collect();
    m.param("dies", names.join(","));
    for (i, l) in links.iter().enumerate() {
        m.param(&format!("link{i}"), format!("{}.{}-{}.{}", l.a.0, l.a.1, l.b.0, l.b.1));
    }
    let top_of = |die: &str| {
        dies.iter()
            .find(|(d, _)| *d == die)
            .map(|(_, t)| *t)
            .ok_or_else(|| DieError::Plan(format!("link to die {die}, which is not in the package")))
    };
    // The transmit side of every linked adapter, as wires driven once its die is instanced.
    let mut wires: BTreeMap<(String, String), Signal> = BTreeMap::new();
    // Die input port → what drives it, for the linked adapters.
    let mut fed: BTreeMap<(String, String), Signal> = BTreeMap::new();
    let one = m.lit(1, 1);
    for (i, l) in links.iter().enumerate() {
        let up = m.input(&format!("link{i}_up_i"), 1);
        for (near, far) in [(&l.a, &l.b), (&l.b, &l.a)] {
            let near_top = top_of(&near.0)?;
            for (rx, tx) in PHY {
                let width = port_width(&near_top.module, &format!("{}_{rx}", near.1))?;
                let key = (far.0.clone(), format!("{}_{tx}", far.1));
                let w = wires
                    .entry(key)
                    .or_insert_with(|| {
                        let stem = tx.strip_suffix("_o").unwrap_or(tx);
                        m.wire(&format!("{}_{}_{stem}", far.0, far.1), width)
                    })
                    .clone();
                fed.insert((near.0.clone(), format!("{}_{rx}", near.1)), w);
            }
            fed.insert((near.0.clone(), format!("{}_link_up_i", near.1)), up.clone());
            fed.insert((near.0.clone(), format!("{}_phy_tx_ready_i", near.1)), one.clone());
        }
    }
    for (die, top) in dies {
        let mut inputs: Vec<(String, Signal)> = Vec::new();
        for p in top.module.ports() {
            if p.dir != PortDir::Input {
                continue;
            }
            let driver = match fed.get(&(die.to_string(), p.name.clone())) {
                Some(s) => s.clone(),
                None if p.name == crate::sim::CLOCK_PORT || p.name == crate::sim::RESET_PORT => continue,
                None => m.input(&format!("{die}_{}", p.name), p.width),
            };
            inputs.push((p.name.clone(), driver));
        }
        let refs: Vec<(&str, &Signal)> = inputs.iter().map(|(n, s)| (n.as_str(), s)).collect();
        let u = m.instance(&format!("u_{die}"), &top.module, &refs);
        for p in top.module.ports() {
            if p.dir != PortDir::Output {
                continue;
            }
            match wires.get(&(die.to_string(), p.name.clone())) {
                Some(w) => m.drive(w, &u.output(&p.name)),
                None => m.output(&format!("{die}_{}", p.name), &u.output(&p.name)),
            }
        }
    }
    Ok(m.finish()?)
}

fn port_width(module: &Module, port: &str) -> Result<u32, DieError> {
    module
        .ports()
        .iter()
        .find(|p| p.name == port)
        .map(|p| p.width)
        .ok_or_else(|| DieError::Plan(format!("die top {} has no port {port} for its link", module.name())))
}
