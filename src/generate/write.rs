//! Writing output folders without ever costing the user a file.
//!
//! The rules, in the order they are applied:
//! 1. **Everything is validated before anything is written**: every file name is a plain name of
//!    at most [`NAME_MAX`] bytes, every path at most [`PATH_MAX`] bytes, and every target folder
//!    is either new, empty, or vdx output (it holds a `manifest.json` that lists, with a SHA-256,
//!    every file vdx wrote there).
//! 2. **vdx replaces or deletes only files its previous manifest lists**, and only while they
//!    still have the recorded hash. Any other file in the folder (a user's testbench, a
//!    subfolder) is left alone; a file the user edited, or a user file where vdx wants to write
//!    one, is an error that names it.
//! 3. **All or nothing.** New files are staged in a hidden sibling (`.vdx-gen-*`), then moved in
//!    by renames. Replaced files are first moved into a hidden backup (`.vdx-old-*`, with a
//!    journal); if any folder of a run fails, the folders already committed are rolled back from
//!    their backups. A run that was killed half-way leaves its staging and backup folders; the
//!    next run cleans the former and rolls the latter back (or forward, when the new manifest
//!    was already in place).
//! 4. **One writer at a time.** Each target's parent folder is locked (`flock`) for the run, so
//!    concurrent runs into one folder are serialised instead of mixing their files.

use super::GenError;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

/// Longest file name (one path component) in bytes, as on Linux file systems.
pub const NAME_MAX: usize = 255;
/// Longest path in bytes.
pub const PATH_MAX: usize = 4095;
/// Largest `manifest.json` vdx reads back (a real one is a few KB).
const MANIFEST_LIMIT: u64 = 16 << 20;
/// Name of the manifest in every folder vdx writes.
pub const MANIFEST: &str = "manifest.json";
const STAGING_PREFIX: &str = ".vdx-gen-";
const BACKUP_PREFIX: &str = ".vdx-old-";
const STAGING_MARKER: &str = ".vdx-staging";
const BACKUP_MARKER: &str = ".vdx-backup";
const TEMP_PREFIX: &str = ".vdx-tmp-";
const JOURNAL: &str = "journal.json";

/// One file vdx wrote, as recorded in a manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRecord {
    /// File name inside the folder.
    pub path: String,
    /// Lower-case hex SHA-256 of its contents.
    pub sha256: String,
}

/// The part of any vdx manifest this module relies on.
#[derive(Debug, Deserialize)]
struct Owned {
    generator: String,
    files: Vec<FileRecord>,
}

/// One folder to write: its files (plain names) and its manifest, which must list every one of
/// them (see [`records`]).
#[derive(Debug, Clone)]
pub struct FolderOutput {
    /// Target folder.
    pub dir: PathBuf,
    /// `(name, contents)`; `manifest.json` is added from `manifest`.
    pub files: Vec<(String, Vec<u8>)>,
    /// The manifest, as JSON text.
    pub manifest: String,
}

/// Hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// The manifest records of `files`.
pub fn records(files: &[(String, Vec<u8>)]) -> Vec<FileRecord> {
    files.iter().map(|(p, b)| FileRecord { path: p.clone(), sha256: sha256_hex(b) }).collect()
}

pub(super) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> GenError + '_ {
    move |source| GenError::Io { path: path.to_path_buf(), source }
}

fn refuse(dir: &Path, why: impl std::fmt::Display) -> GenError {
    GenError::Refused(format!("refusing to write into {}: {why}", dir.display()))
}

/// A file name vdx may write or delete: one plain component, not hidden.
fn plain_name(name: &str) -> bool {
    !name.is_empty() && !name.starts_with('.') && !name.contains(['/', '\\', '\0']) && name.len() <= NAME_MAX
}

/// What writing one folder involves, decided before anything is written.
pub(super) enum Plan {
    /// The folder does not exist: stage next to it and rename it into place.
    Fresh,
    /// The folder exists (empty or vdx output): these listed files are replaced or removed.
    Update {
        /// The recorded files that exist.
        old: Vec<FileRecord>,
    },
}

/// The root of several die folders and the dies this run writes below it.
#[derive(Debug, Clone)]
pub struct RootSpec {
    /// Config name, for the root manifest.
    pub config: String,
    /// Dies written by this run (merged with those an earlier run listed).
    pub dies: Vec<String>,
}

/// Writes every folder of a run, all or nothing (see the module docs). `root`, when given, is a
/// folder that holds several of them and is itself vdx output: new, empty, or holding a vdx
/// `manifest.json` with a `dies` list, which is updated first, under the lock.
pub fn write_all(root: Option<(&Path, &RootSpec)>, folders: &[FolderOutput]) -> Result<(), GenError> {
    let folders: Vec<FolderOutput> =
        folders.iter().map(|f| FolderOutput { dir: normalize(&f.dir), ..f.clone() }).collect();
    let root = root.map(|(r, spec)| (normalize(r), spec));
    for f in &folders {
        check_lengths(f)?;
    }
    if let Some((root, _)) = &root {
        check_root_path(root)?;
    }
    // The folder every target hangs from is locked exclusively: the root's parent, or each
    // folder's parent when there is no root.
    let tops: BTreeSet<PathBuf> = match &root {
        Some((r, _)) => BTreeSet::from([parent_of(r)]),
        None => folders.iter().map(|f| parent_of(&f.dir)).collect(),
    };
    let mut parents: BTreeSet<PathBuf> = folders.iter().map(|f| parent_of(&f.dir)).collect();
    parents.extend(tops.iter().cloned());
    let created = create_parents(&parents)?;
    let result = (|| {
        let _locks = LockSet::acquire(&tops)?;
        for p in &parents {
            clean_staging(p)?;
        }
        let previous_root = match &root {
            Some((r, spec)) => Some(update_root(r, spec)?),
            None => None,
        };
        let committed = folders
            .iter()
            .map(plan)
            .collect::<Result<Vec<_>, _>>()
            .and_then(|plans| commit_all(&folders, &plans));
        if let (Err(_), Some((r, _)), Some(previous)) = (&committed, &root, previous_root) {
            let path = r.join(MANIFEST);
            let _ = match previous {
                Some(text) => replace_file(&path, text.as_bytes()),
                None => fs::remove_file(&path).map_err(io(&path)),
            };
        }
        committed
    })();
    if result.is_err() {
        // Folders this run created for nothing go again (only if still empty).
        for dir in created.iter().rev() {
            let _ = fs::remove_dir(dir);
        }
    }
    result
}

/// Checks the root and writes its manifest (the dies it listed and this run's); returns the
/// previous manifest text, to put back if the run fails.
fn update_root(root: &Path, spec: &RootSpec) -> Result<Option<String>, GenError> {
    check_root(root)?;
    if !root.exists() {
        fs::create_dir(root).map_err(io(root))?;
    }
    let path = root.join(MANIFEST);
    let previous = read_limited(&path).ok();
    let mut dies: BTreeSet<String> = previous
        .as_deref()
        .and_then(|t| serde_json::from_str::<super::manifest::RootManifest>(t).ok())
        .map(|m| m.dies.into_iter().collect())
        .unwrap_or_default();
    dies.extend(spec.dies.iter().cloned());
    let manifest = super::manifest::RootManifest {
        generator: crate::hdl::GENERATOR.into(),
        config: spec.config.clone(),
        dies: dies.into_iter().collect(),
    };
    let text = serde_json::to_string_pretty(&manifest).unwrap_or_else(|e| unreachable!("JSON: {e}")) + "\n";
    replace_file(&path, text.as_bytes())?;
    Ok(previous)
}

/// `dir` without `.` components and trailing slashes (`link/` must be checked as `link`).
pub(super) fn normalize(dir: &Path) -> PathBuf {
    let n: PathBuf = dir.components().filter(|c| !matches!(c, std::path::Component::CurDir)).collect();
    if n.as_os_str().is_empty() { PathBuf::from(".") } else { n }
}

/// Exclusive `flock`s on some folders and shared ones on all their ancestors, taken in one
/// global order (ancestors first), so runs into nested folders exclude each other too and no
/// two runs can deadlock. Released when dropped.
pub(super) struct LockSet(pub(super) Vec<fs::File>);

impl LockSet {
    pub(super) fn acquire(exclusive: &BTreeSet<PathBuf>) -> Result<Self, GenError> {
        let mut wanted: std::collections::BTreeMap<PathBuf, bool> = Default::default();
        for dir in exclusive {
            let real = fs::canonicalize(dir).map_err(io(dir))?;
            for a in real.ancestors().skip(1) {
                wanted.entry(a.to_path_buf()).or_insert(false);
            }
            wanted.insert(real, true);
        }
        let mut files = Vec::new();
        for (dir, excl) in wanted {
            let f = fs::File::open(&dir).map_err(io(&dir))?;
            if excl { f.lock() } else { f.lock_shared() }.map_err(io(&dir))?;
            files.push(f);
        }
        Ok(LockSet(files))
    }
}

pub(super) fn parent_of(dir: &Path) -> PathBuf {
    match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

pub(super) fn check_lengths(f: &FolderOutput) -> Result<(), GenError> {
    let dir_name = f.dir.file_name().map(|n| n.len());
    if dir_name.is_none() {
        return Err(refuse(&f.dir, "it is not a folder name vdx can own (use a named folder)"));
    }
    for component in f.dir.components() {
        if component.as_os_str().len() > NAME_MAX {
            return Err(refuse(&f.dir, format!("a path component is longer than {NAME_MAX} bytes")));
        }
    }
    let longest = f.files.iter().map(|(n, _)| n.len()).max().unwrap_or(0).max(MANIFEST.len());
    // The staging folder inside an existing folder adds one component to every path.
    let staging = STAGING_PREFIX.len() + 8;
    let dir_len = f.dir.as_os_str().len();
    for (name, _) in &f.files {
        if !plain_name(name) {
            return Err(refuse(
                &f.dir,
                format!("`{name}` is not a plain file name of at most {NAME_MAX} bytes"),
            ));
        }
    }
    if dir_len + 1 + staging + 1 + longest > PATH_MAX {
        return Err(refuse(&f.dir, format!("its paths would be longer than {PATH_MAX} bytes")));
    }
    Ok(())
}

fn check_root_path(root: &Path) -> Result<(), GenError> {
    if root.file_name().is_none() {
        return Err(refuse(root, "it is not a folder name vdx can own (use a named folder)"));
    }
    Ok(())
}

/// The root of several dies: new, empty, or vdx output.
fn check_root(root: &Path) -> Result<(), GenError> {
    let Ok(meta) = fs::symlink_metadata(root) else { return Ok(()) };
    if meta.file_type().is_symlink() {
        return Err(refuse(root, "it is a symbolic link; give the real folder"));
    }
    if !meta.is_dir() {
        return Err(refuse(root, "it exists and is not a folder"));
    }
    if fs::read_dir(root).map_err(io(root))?.next().is_none() {
        return Ok(());
    }
    let path = root.join(MANIFEST);
    let ours = read_limited(&path)
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .is_some_and(|v| {
            v.get("generator").and_then(|g| g.as_str()).is_some_and(|g| g.starts_with("vdx "))
                && v.get("dies").is_some_and(|d| d.is_array())
        });
    if ours {
        Ok(())
    } else {
        Err(refuse(root, "it holds files and no vdx manifest.json listing its dies; choose another --out"))
    }
}

pub(super) fn create_parents(parents: &BTreeSet<PathBuf>) -> Result<Vec<PathBuf>, GenError> {
    let mut created = Vec::new();
    for p in parents {
        let mut missing = Vec::new();
        let mut cur = Some(p.as_path());
        while let Some(c) = cur.filter(|c| !c.as_os_str().is_empty() && fs::symlink_metadata(c).is_err()) {
            missing.push(c.to_path_buf());
            cur = c.parent();
        }
        for dir in missing.into_iter().rev() {
            match fs::create_dir(&dir) {
                Ok(()) => created.push(dir),
                // Another run made it meanwhile.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && dir.is_dir() => {}
                Err(e) => {
                    for d in created.iter().rev() {
                        let _ = fs::remove_dir(d);
                    }
                    return Err(GenError::Io { path: dir, source: e });
                }
            }
        }
    }
    Ok(created)
}

fn read_limited(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    // Checked before opening: opening a FIFO would block.
    if !fs::symlink_metadata(path)?.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    let f = fs::File::open(path)?;
    let mut text = String::new();
    f.take(MANIFEST_LIMIT + 1).read_to_string(&mut text)?;
    if text.len() as u64 > MANIFEST_LIMIT {
        return Err(std::io::Error::other(format!("larger than {MANIFEST_LIMIT} bytes")));
    }
    Ok(text)
}

fn hidden_entries(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else { return Vec::new() };
    let mut found: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with(prefix))
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .collect();
    found.sort();
    found
}

/// Removes what an interrupted run left in `dir`: staging folders carrying vdx's marker (or
/// still empty) and temporary files.
pub(super) fn clean_staging(dir: &Path) -> Result<(), GenError> {
    for stale in hidden_entries(dir, STAGING_PREFIX) {
        if stale.join(STAGING_MARKER).is_file() {
            fs::remove_dir_all(&stale).map_err(io(&stale))?;
        } else {
            let _ = fs::remove_dir(&stale);
        }
    }
    if let Ok(entries) = fs::read_dir(dir) {
        for e in entries.filter_map(Result::ok) {
            let temp = e.file_name().to_string_lossy().starts_with(TEMP_PREFIX);
            if temp && e.file_type().is_ok_and(|t| t.is_file()) {
                fs::remove_file(e.path()).map_err(io(&e.path()))?;
            }
        }
    }
    let marker = dir.join(STAGING_MARKER);
    if fs::symlink_metadata(&marker).is_ok_and(|m| m.is_file() && m.len() == 0) {
        fs::remove_file(&marker).map_err(io(&marker))?;
    }
    Ok(())
}

pub(super) fn plan(f: &FolderOutput) -> Result<Plan, GenError> {
    let dir = &f.dir;
    let Ok(meta) = fs::symlink_metadata(dir) else { return Ok(Plan::Fresh) };
    if meta.file_type().is_symlink() {
        return Err(refuse(dir, "it is a symbolic link; give the real folder"));
    }
    if !meta.is_dir() {
        return Err(refuse(dir, "it exists and is not a folder"));
    }
    clean_staging(dir)?;
    for backup in hidden_entries(dir, BACKUP_PREFIX).into_iter().filter(|b| b.join(BACKUP_MARKER).is_file()) {
        recover(dir, &backup)?;
    }
    let manifest = dir.join(MANIFEST);
    if !manifest.exists() {
        let mut entries: Vec<String> = fs::read_dir(dir)
            .map_err(io(dir))?
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        if entries.is_empty() {
            return Ok(Plan::Update { old: Vec::new() });
        }
        entries.sort();
        entries.truncate(5);
        return Err(refuse(
            dir,
            format!("it holds files that are not vdx output (no vdx manifest.json): {}", entries.join(", ")),
        ));
    }
    let text =
        read_limited(&manifest).map_err(|e| refuse(dir, format!("cannot read its manifest.json: {e}")))?;
    let owned: Owned = serde_json::from_str(&text).map_err(|e| {
        refuse(
            dir,
            format!(
                "its manifest.json is not a vdx manifest with a file list ({e}); vdx only replaces files a \
                 manifest lists, so remove the folder or choose another --out"
            ),
        )
    })?;
    if !owned.generator.starts_with("vdx ") {
        return Err(refuse(dir, format!("its manifest.json was written by `{}`, not vdx", owned.generator)));
    }
    let listed: BTreeSet<&str> = owned.files.iter().map(|r| r.path.as_str()).collect();
    let mut problems = Vec::new();
    if listed.len() != owned.files.len() {
        problems.push("manifest.json lists a file twice".to_string());
    }
    for r in &owned.files {
        if !plain_name(&r.path) || r.path == MANIFEST {
            problems.push(format!("manifest.json lists `{}`, which vdx never writes", r.path));
            continue;
        }
        let path = dir.join(&r.path);
        match fs::symlink_metadata(&path) {
            Err(_) => {}
            Ok(m) if !m.is_file() => problems.push(format!("{} is no longer a file vdx wrote", r.path)),
            // A pending record of a run that did not finish (`vdx synth`): the name is vdx's.
            Ok(_) if r.sha256.is_empty() => {}
            Ok(_) => {
                let bytes = fs::read(&path).map_err(io(&path))?;
                if sha256_hex(&bytes) != r.sha256 {
                    problems.push(format!("{} was changed since vdx wrote it", r.path));
                }
            }
        }
    }
    for (name, _) in &f.files {
        if !listed.contains(name.as_str()) && fs::symlink_metadata(dir.join(name)).is_ok() {
            problems.push(format!("{name} exists and is not vdx output"));
        }
    }
    if !problems.is_empty() {
        return Err(refuse(
            dir,
            format!("{}; move those files away or choose another --out", problems.join("; ")),
        ));
    }
    let old = owned.files.into_iter().filter(|r| dir.join(&r.path).exists()).collect();
    Ok(Plan::Update { old })
}

/// What a backup folder records, so an interrupted or failed commit can be undone.
#[derive(Debug, Serialize, Deserialize)]
struct Journal {
    /// SHA-256 of the new manifest: when it is in place, the commit is complete.
    new_manifest: String,
    /// Files moved into this backup (the old manifest among them).
    moved: Vec<String>,
    /// Files moved into the folder.
    placed: Vec<FileRecord>,
}

/// A committed folder, until the run is complete.
enum Committed {
    Fresh(PathBuf),
    Updated { dir: PathBuf, backup: PathBuf },
}

fn staging_in(parent: &Path) -> Result<tempfile::TempDir, GenError> {
    let staging = tempfile::Builder::new().prefix(STAGING_PREFIX).tempdir_in(parent).map_err(io(parent))?;
    let marker = staging.path().join(STAGING_MARKER);
    fs::write(&marker, b"").map_err(io(&marker))?;
    Ok(staging)
}

fn stage(f: &FolderOutput, into: &Path) -> Result<(), GenError> {
    for (name, bytes) in &f.files {
        let path = into.join(name);
        fs::write(&path, bytes).map_err(io(&path))?;
    }
    let path = into.join(MANIFEST);
    fs::write(&path, f.manifest.as_bytes()).map_err(io(&path))
}

fn commit_all(folders: &[FolderOutput], plans: &[Plan]) -> Result<(), GenError> {
    let mut done: Vec<Committed> = Vec::new();
    let mut result = Ok(());
    for (f, p) in folders.iter().zip(plans) {
        crash_point("before-folder");
        match commit(f, p) {
            Ok(c) => done.push(c),
            Err(e) => {
                result = Err(e);
                break;
            }
        }
    }
    if result.is_err() {
        for c in done.into_iter().rev() {
            match c {
                Committed::Fresh(dir) => {
                    let _ = fs::remove_dir_all(&dir);
                }
                Committed::Updated { dir, backup } => {
                    let _ = roll_back(&dir, &backup);
                }
            }
        }
        return result;
    }
    for c in done {
        if let Committed::Updated { backup, .. } = c {
            fs::remove_dir_all(&backup).map_err(io(&backup))?;
        }
    }
    Ok(())
}

fn commit(f: &FolderOutput, plan: &Plan) -> Result<Committed, GenError> {
    let dir = &f.dir;
    match plan {
        Plan::Fresh => {
            let staging = staging_in(&parent_of(dir))?;
            stage(f, staging.path())?;
            fs::rename(staging.path(), dir).map_err(io(dir))?;
            // The staging folder is now `dir`: it must not be removed on drop.
            let _ = staging.keep();
            let marker = dir.join(STAGING_MARKER);
            fs::remove_file(&marker).map_err(io(&marker))?;
            Ok(Committed::Fresh(dir.clone()))
        }
        Plan::Update { old } => {
            let staging = staging_in(dir)?;
            stage(f, staging.path())?;
            let backup =
                tempfile::Builder::new().prefix(BACKUP_PREFIX).tempdir_in(dir).map_err(io(dir))?.keep();
            let marker = backup.join(BACKUP_MARKER);
            fs::write(&marker, b"").map_err(io(&marker))?;
            let mut moved: Vec<String> = old.iter().map(|r| r.path.clone()).collect();
            if dir.join(MANIFEST).exists() {
                moved.push(MANIFEST.into());
            }
            let mut placed = records(&f.files);
            placed.push(FileRecord { path: MANIFEST.into(), sha256: sha256_hex(f.manifest.as_bytes()) });
            let journal = Journal { new_manifest: sha256_hex(f.manifest.as_bytes()), moved, placed };
            let text =
                serde_json::to_string(&journal).unwrap_or_else(|e| unreachable!("journals serialize: {e}"));
            // Atomically: a journal that exists is complete (nothing has moved before it).
            replace_file(&backup.join(JOURNAL), text.as_bytes())?;
            let moves = || -> Result<(), GenError> {
                for name in &journal.moved {
                    fs::rename(dir.join(name), backup.join(name)).map_err(io(&dir.join(name)))?;
                    crash_point("moving-old");
                }
                // The manifest goes last: once it is in place, the folder is complete.
                for r in journal
                    .placed
                    .iter()
                    .filter(|r| r.path != MANIFEST)
                    .chain(journal.placed.iter().filter(|r| r.path == MANIFEST))
                {
                    fs::rename(staging.path().join(&r.path), dir.join(&r.path))
                        .map_err(io(&dir.join(&r.path)))?;
                    crash_point("placing-new");
                }
                Ok(())
            };
            if let Err(e) = moves() {
                let _ = roll_back(dir, &backup);
                return Err(e);
            }
            Ok(Committed::Updated { dir: dir.clone(), backup })
        }
    }
}

fn read_journal(dir: &Path, backup: &Path) -> Result<Journal, GenError> {
    let jpath = backup.join(JOURNAL);
    let journal: Journal = serde_json::from_str(&read_limited(&jpath).map_err(io(&jpath))?)
        .map_err(|e| refuse(dir, format!("cannot read the journal {}: {e}", jpath.display())))?;
    let plain = |n: &str| plain_name(n) || n == MANIFEST;
    if !journal.moved.iter().all(|n| plain(n)) || !journal.placed.iter().all(|r| plain(&r.path)) {
        return Err(refuse(dir, format!("the journal {} names paths vdx never writes", jpath.display())));
    }
    Ok(journal)
}

/// Undoes a commit from its backup. Files are moved in order (the old ones out, then the new
/// ones in), so a file the backup holds was moved out, and a placed file is only removed where
/// it replaced a moved one or was new, and only while unchanged.
fn roll_back(dir: &Path, backup: &Path) -> Result<(), GenError> {
    let journal = read_journal(dir, backup)?;
    let moved: BTreeSet<&str> = journal.moved.iter().map(String::as_str).collect();
    for r in &journal.placed {
        let path = dir.join(&r.path);
        let was_moved = backup.join(&r.path).exists();
        if moved.contains(r.path.as_str()) && !was_moved {
            continue; // still the old file: the run died before moving it
        }
        if fs::read(&path).is_ok_and(|b| sha256_hex(&b) == r.sha256) {
            fs::remove_file(&path).map_err(io(&path))?;
        }
    }
    for name in &journal.moved {
        let from = backup.join(name);
        if !from.exists() {
            continue;
        }
        let to = dir.join(name);
        if fs::symlink_metadata(&to).is_ok() {
            return Err(refuse(
                dir,
                format!(
                    "{name} exists, and vdx's backup of it is in {}; move one of them away",
                    from.display()
                ),
            ));
        }
        fs::rename(&from, &to).map_err(io(&from))?;
    }
    fs::remove_dir_all(backup).map_err(io(backup))
}

/// Finishes what an interrupted run left in `backup`: forward when every file it placed is in
/// place (the commit had completed), back otherwise.
fn recover(dir: &Path, backup: &Path) -> Result<(), GenError> {
    if !backup.join(JOURNAL).exists() {
        // No journal: the run died before moving anything; only the marker is in there.
        let _ = fs::remove_file(backup.join(BACKUP_MARKER));
        return fs::remove_dir(backup).map_err(io(backup));
    }
    let journal = read_journal(dir, backup)?;
    let complete =
        journal.placed.iter().all(|r| fs::read(dir.join(&r.path)).is_ok_and(|b| sha256_hex(&b) == r.sha256))
            && fs::read(dir.join(MANIFEST)).is_ok_and(|b| sha256_hex(&b) == journal.new_manifest);
    if complete { fs::remove_dir_all(backup).map_err(io(backup)) } else { roll_back(dir, backup) }
}

/// Replaces one file atomically (a temporary sibling renamed over it).
pub(super) fn replace_file(path: &Path, bytes: &[u8]) -> Result<(), GenError> {
    let parent = parent_of(path);
    let mut tmp =
        tempfile::Builder::new().prefix(STAGING_PREFIX).tempfile_in(&parent).map_err(io(&parent))?;
    std::io::Write::write_all(&mut tmp, bytes).map_err(io(path))?;
    tmp.persist(path).map_err(|e| GenError::Io { path: path.to_path_buf(), source: e.error })?;
    Ok(())
}

/// Test hook: with `VDX_TEST_CRASH_AT=<point>` the process aborts the `n`-th time (from
/// `VDX_TEST_CRASH_COUNT`, default 1) it passes that point, as a `kill -9` would stop it. The
/// crash-recovery tests use it; it costs one environment lookup per point otherwise.
fn crash_point(point: &str) {
    use std::sync::atomic::{AtomicU32, Ordering};
    static PASSED: AtomicU32 = AtomicU32::new(0);
    if std::env::var("VDX_TEST_CRASH_AT").is_ok_and(|p| p == point) {
        let n = std::env::var("VDX_TEST_CRASH_COUNT").ok().and_then(|c| c.parse().ok()).unwrap_or(1);
        if PASSED.fetch_add(1, Ordering::SeqCst) + 1 >= n {
            std::process::abort();
        }
    }
}
