//! Work folders that a tool run writes into directly (`vdx synth`), under the same ownership
//! rules as [`super::write`]: a folder is new, empty, or an earlier run's, and only files a
//! manifest records are ever removed.

use super::GenError;
use super::write::{
    FileRecord, FolderOutput, LockSet, MANIFEST, Plan, check_lengths, clean_staging, create_parents, io,
    normalize, parent_of, plan, replace_file, sha256_hex,
};
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

/// Work folders a tool run writes into directly (`vdx synth`): each new, empty, or the folder
/// of an earlier run, whose recorded files are removed before the run (only while unchanged).
/// Files a user added are left alone, unless they have a name the run writes. The folders stay
/// locked until this is dropped.
#[derive(Debug)]
pub struct WorkDirs {
    /// The claimed folders, in the order asked for.
    pub dirs: Vec<WorkDir>,
    _locks: Vec<fs::File>,
}

/// One claimed work folder (see [`WorkDirs`]).
#[derive(Debug)]
pub struct WorkDir {
    dir: PathBuf,
    /// The names the run writes: only these are recorded, and deleted by the next run.
    writes: Vec<String>,
}

impl WorkDirs {
    /// Claims every `(folder, names the run writes)`, all before any run starts. Each folder
    /// gets a manifest that lists the names at once (with no hash yet), so a run that is killed
    /// leaves a folder the next run may take over.
    pub fn claim(targets: &[(PathBuf, Vec<String>)]) -> Result<Self, GenError> {
        let targets: Vec<(PathBuf, Vec<String>)> =
            targets.iter().map(|(d, w)| (normalize(d), w.clone())).collect();
        // The folders as outputs that write these names: what `check_lengths` and `plan` judge.
        let probes: Vec<FolderOutput> = targets
            .iter()
            .map(|(dir, writes)| FolderOutput {
                dir: dir.clone(),
                files: writes.iter().map(|w| (w.clone(), Vec::new())).collect(),
                manifest: String::new(),
            })
            .collect();
        let mut parents = BTreeSet::new();
        for probe in &probes {
            check_lengths(probe)?;
            parents.insert(parent_of(&probe.dir));
        }
        let created = create_parents(&parents)?;
        let claimed = (|| {
            let locks = LockSet::acquire(&parents)?;
            for p in &parents {
                clean_staging(p)?;
            }
            let plans = probes.iter().map(plan).collect::<Result<Vec<_>, _>>()?;
            let mut dirs = Vec::new();
            for ((dir, writes), plan) in targets.iter().zip(plans) {
                match plan {
                    Plan::Fresh => fs::create_dir(dir).map_err(io(dir))?,
                    Plan::Update { old } => {
                        for r in &old {
                            let path = dir.join(&r.path);
                            fs::remove_file(&path).map_err(io(&path))?;
                        }
                    }
                }
                let w = WorkDir { dir: dir.clone(), writes: writes.clone() };
                w.record(serde_json::json!({ "running": true }), true)?;
                dirs.push(w);
            }
            Ok(WorkDirs { dirs, _locks: locks.0 })
        })();
        if claimed.is_err() {
            for d in created.iter().rev() {
                let _ = fs::remove_dir(d);
            }
        }
        claimed
    }
}

impl WorkDir {
    /// The folder.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Records the files of the run that exist, with their hashes (also after a failed run, so
    /// the next run may replace them). `extra` is merged into the manifest's JSON object.
    pub fn finish(&self, extra: serde_json::Value) -> Result<(), GenError> {
        self.record(extra, false)
    }

    fn record(&self, extra: serde_json::Value, pending: bool) -> Result<(), GenError> {
        let mut files = Vec::new();
        for name in &self.writes {
            let path = self.dir.join(name);
            if pending {
                files.push(FileRecord { path: name.clone(), sha256: String::new() });
            } else if fs::symlink_metadata(&path).is_ok_and(|m| m.is_file()) {
                let bytes = fs::read(&path).map_err(io(&path))?;
                files.push(FileRecord { path: name.clone(), sha256: sha256_hex(&bytes) });
            }
        }
        let mut manifest = serde_json::json!({ "generator": crate::hdl::GENERATOR, "files": files });
        if let (Some(m), serde_json::Value::Object(extra)) = (manifest.as_object_mut(), extra) {
            m.extend(extra);
        }
        let text =
            serde_json::to_string_pretty(&manifest).unwrap_or_else(|e| unreachable!("JSON: {e}")) + "\n";
        replace_file(&self.dir.join(MANIFEST), text.as_bytes())
    }
}
