//! Regression sweeps over configs × seeds that split across machines: `vdx sweep run` co-simulates
//! every available block of every config once per seed, or only the jobs of one shard
//! (`--shard K/N`), and writes their rows as JSON; `vdx sweep merge` joins the shards' files into
//! one table (CSV and JSON), checking that they come from the same sweep and cover it exactly.
//!
//! The jobs of a sweep are listed in one canonical order (configs as given, then dies, instances
//! and seeds in order); job `i` belongs to shard `i mod N + 1`. The scheduling itself is left to
//! what already runs job arrays: a CI matrix, a Slurm array (`scripts/sweep_array.sbatch`), a
//! Kubernetes indexed Job; each element runs one shard. Rows hold only what a rerun reproduces
//! (result, values compared, cycles, module), so a merged table does not depend on how the sweep
//! was split; timings stay in each shard's file.

use crate::blocks::CosimRun;
use crate::config::DieConfig;
use crate::generate::{Selection, plan};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// One shard of a sweep: `index` of `count`, from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// This shard, 1..=count.
    pub index: u32,
    /// Shards in all.
    pub count: u32,
}

impl Shard {
    /// The whole sweep as one shard.
    pub const ALL: Shard = Shard { index: 1, count: 1 };

    /// Parses `K/N` (1 ≤ K ≤ N).
    pub fn parse(text: &str) -> Result<Shard, String> {
        let bad = || format!("--shard {text:?}: expected K/N with 1 <= K <= N, e.g. 1/2");
        let (k, n) = text.split_once('/').ok_or_else(bad)?;
        let (index, count): (u32, u32) =
            (k.trim().parse().map_err(|_| bad())?, n.trim().parse().map_err(|_| bad())?);
        if index == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }

    /// Whether job `i` of the canonical list is this shard's.
    pub fn has(&self, i: usize) -> bool {
        i % self.count as usize + 1 == self.index as usize
    }
}

/// One co-simulation of a sweep.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    /// Config file as given.
    pub config: String,
    /// Die.
    pub die: String,
    /// Block instance.
    pub instance: String,
    /// Block.
    pub block: String,
    /// Stimulus seed.
    pub seed: u64,
}

/// The result of one job: only what a rerun reproduces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Row {
    /// The job.
    #[serde(flatten)]
    pub job: Job,
    /// `PASS` or `FAIL`.
    pub result: String,
    /// Module simulated (empty when it failed to build).
    pub module: String,
    /// Values compared with the golden model.
    pub checks: u64,
    /// Cycles simulated.
    pub cycles: u64,
    /// Why it failed (empty when it passed).
    pub error: String,
}

/// What one `vdx sweep run` wrote.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShardFile {
    /// Generator.
    pub generator: String,
    /// The sweep's jobs, all shards (so a merge can check it has every one).
    pub jobs: Vec<Job>,
    /// Cycles per job.
    pub cycles: u64,
    /// Which shard this is.
    pub shard: Shard,
    /// This shard's rows.
    pub rows: Vec<Row>,
    /// Wall-clock seconds the shard took (not part of the merged table).
    pub seconds: f64,
}

/// Every job of a sweep over `configs` (path as given, loaded) and `seeds`, in canonical order.
pub fn jobs(configs: &[(String, DieConfig)], seeds: &[u64]) -> Result<Vec<(Job, usize)>, String> {
    let mut out = Vec::new();
    for (ci, (path, config)) in configs.iter().enumerate() {
        let plans = plan(config, &Selection::default()).map_err(|e| format!("{path}: {e}"))?;
        for p in &plans {
            for u in &p.units {
                for &seed in seeds {
                    let job = Job {
                        config: path.clone(),
                        die: p.die.clone(),
                        instance: u.instance.clone(),
                        block: u.block.to_string(),
                        seed,
                    };
                    out.push((job, ci));
                }
            }
        }
    }
    Ok(out)
}

/// Runs the jobs of `shard` (Verilator), reporting each row as it finishes.
pub fn run(
    configs: &[(String, DieConfig)],
    seeds: &[u64],
    cycles: u64,
    shard: Shard,
    mut report: impl FnMut(&Row, usize, usize),
) -> Result<ShardFile, String> {
    let t0 = std::time::Instant::now();
    let all = jobs(configs, seeds)?;
    let mine: Vec<&(Job, usize)> =
        all.iter().enumerate().filter(|(i, _)| shard.has(*i)).map(|(_, j)| j).collect();
    let mut rows = Vec::new();
    for (n, (job, ci)) in mine.iter().enumerate() {
        let config = &configs[*ci].1;
        let sel =
            Selection { die: Some(job.die.clone()), block: Some(job.instance.clone()), sets: Vec::new() };
        let plans = plan(config, &sel).map_err(|e| format!("{}: {e}", job.config))?;
        let unit = plans
            .iter()
            .flat_map(|p| &p.units)
            .find(|u| u.instance == job.instance)
            .ok_or_else(|| format!("{}: no instance {} on die {}", job.config, job.instance, job.die))?;
        let r = unit.params.cosim(CosimRun { cycles, seed: job.seed, trace: None });
        let row = match r {
            Ok(r) => Row {
                job: job.clone(),
                result: "PASS".into(),
                module: r.module,
                checks: r.checks,
                cycles: r.cycles,
                error: String::new(),
            },
            Err(e) => Row {
                job: job.clone(),
                result: "FAIL".into(),
                module: String::new(),
                checks: 0,
                cycles: 0,
                error: e.to_string(),
            },
        };
        report(&row, n + 1, mine.len());
        rows.push(row);
    }
    Ok(ShardFile {
        generator: crate::hdl::GENERATOR.into(),
        jobs: all.into_iter().map(|(j, _)| j).collect(),
        cycles,
        shard,
        rows,
        seconds: t0.elapsed().as_secs_f64(),
    })
}

/// Joins shard files into the sweep's rows in canonical order, or says why they do not make
/// one sweep (different job lists or cycles, a shard missing or given twice).
pub fn merge(files: &[(String, ShardFile)]) -> Result<Vec<Row>, String> {
    let Some((first_name, first)) = files.first() else { return Err("no shard files to merge".into()) };
    let count = first.shard.count;
    let mut seen = vec![None; count as usize];
    for (name, f) in files {
        if f.jobs != first.jobs || f.cycles != first.cycles || f.shard.count != count {
            return Err(format!(
                "{name} is from a different sweep than {first_name} (jobs, cycles or shard count differ)"
            ));
        }
        if let Some(prev) = seen[f.shard.index as usize - 1].replace(name.clone()) {
            return Err(format!("shard {}/{count} is given twice: {prev} and {name}", f.shard.index));
        }
    }
    let missing: Vec<String> = seen
        .iter()
        .enumerate()
        .filter(|(_, s)| s.is_none())
        .map(|(i, _)| format!("{}/{count}", i + 1))
        .collect();
    if !missing.is_empty() {
        return Err(format!("shard(s) {} missing", missing.join(", ")));
    }
    let mut rows = Vec::new();
    for job in &first.jobs {
        let row = files.iter().flat_map(|(_, f)| &f.rows).find(|r| &r.job == job);
        match row {
            Some(r) => rows.push(r.clone()),
            None => {
                return Err(format!(
                    "no row for {} {}/{} seed {}",
                    job.config, job.die, job.instance, job.seed
                ));
            }
        }
    }
    Ok(rows)
}

/// The rows as CSV, with a header line.
pub fn csv(rows: &[Row]) -> Result<String, String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let header =
        ["config", "die", "instance", "block", "seed", "result", "module", "checks", "cycles", "error"];
    w.write_record(header).map_err(|e| e.to_string())?;
    for r in rows {
        let j = &r.job;
        let (seed, checks, cycles) = (j.seed.to_string(), r.checks.to_string(), r.cycles.to_string());
        let cells = [
            &j.config,
            &j.die,
            &j.instance,
            &j.block,
            &seed,
            &r.result,
            &r.module,
            &checks,
            &cycles,
            &r.error,
        ];
        w.write_record(cells).map_err(|e| e.to_string())?;
    }
    let bytes = w.into_inner().map_err(|e| e.to_string())?;
    String::from_utf8(bytes).map_err(|e| e.to_string())
}

/// Reads a shard file written by [`run`].
pub fn read(path: &Path) -> Result<ShardFile, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: not a vdx sweep shard file: {e}", path.display()))
}
