//! Verilator co-simulation: the design is Verilated at run time, linked with a generated
//! `extern "C"` shim into a shared library, cached on disk, and loaded into this process.
//!
//! The model that [`VerilatorDut::build`] returns is built without tracing, because tracing costs
//! ~28x in speed. Instead every input frame is recorded (cheap), and a waveform is made on demand
//! by replaying the recording into a `--trace` build of the same source
//! ([`VerilatorDut::write_vcd`]), which only failing runs need.

mod model;
mod shim;

pub(crate) use super::tool::run_tool;
pub use model::{CACHE_ENV, cache_dir};
pub(crate) use model::{
    Model, configured_root, lock, model_archives, prepare_root, publish, temp_dir_in, toolchain,
};
pub(crate) use shim::frame_code;

use super::{CycleSim, PortLayout, SimError, SimSource};
use libloading::Library;
use std::ffi::{CString, c_char, c_void};
use std::fmt;
use std::path::{Path, PathBuf};
use std::ptr::NonNull;
use std::sync::Arc;

/// Environment variable naming the directory that [`VerilatorDut::mismatch`] writes VCDs into.
pub const VCD_DIR_ENV: &str = "VDX_VCD_DIR";

type NewFn = unsafe extern "C" fn() -> *mut c_void;
type InstFn = unsafe extern "C" fn(*mut c_void);
type PokeFn = unsafe extern "C" fn(*mut c_void, u32, *const u32);
type PeekFn = unsafe extern "C" fn(*mut c_void, u32, *mut u32);
type Peek64Fn = unsafe extern "C" fn(*mut c_void, u32) -> u64;
type RunFn = unsafe extern "C" fn(*mut c_void, *const u32, *mut u32, u64);
type U32Fn = unsafe extern "C" fn() -> u32;
type U64Fn = unsafe extern "C" fn() -> u64;
type ReplayFn = unsafe extern "C" fn(*const u32, u64, *const c_char) -> i32;

/// The shim's entry points, resolved once at load time so no call pays for a symbol lookup.
#[derive(Clone, Copy)]
struct Api {
    new: NewFn,
    free: InstFn,
    eval: InstFn,
    step: InstFn,
    poke: PokeFn,
    peek: PeekFn,
    peek64: Peek64Fn,
    run: RunFn,
}

/// A loaded model library. The function pointers in `api` point into `lib`, so it must outlive
/// every instance created from it (instances hold an `Arc`).
struct Loaded {
    api: Api,
    _lib: Library,
    path: PathBuf,
}

/// Resolves `name` in `lib` as a `T` (a function pointer type).
///
/// # Safety
/// `T` must be the symbol's true type.
unsafe fn symbol<T: Copy>(lib: &Library, path: &Path, name: &str) -> Result<T, SimError> {
    // SAFETY: forwarded to the caller.
    unsafe { lib.get::<T>(name.as_bytes()) }.map(|s| *s).map_err(|e| SimError::Load {
        path: path.to_path_buf(),
        message: format!("symbol `{name}`: {}", error_chain(&e)),
    })
}

/// `e` followed by its sources: libloading says only "dlopen failed", its source what `dlerror`
/// said.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// Loads the library at `path`, which must be a model's library that [`Model::get`] has just
/// verified against its cache record (a damaged library can kill the process with SIGBUS).
fn load_library(path: &Path) -> Result<Library, SimError> {
    // SAFETY: the library is one we built and verified; its initialisers are the Verilator
    // runtime's.
    unsafe { Library::new(path) }
        .map_err(|e| SimError::Load { path: path.to_path_buf(), message: error_chain(&e) })
}

impl Loaded {
    fn open(path: &Path, layout: &PortLayout) -> Result<Self, SimError> {
        let lib = load_library(path)?;
        // SAFETY: the types match the generated shim (shim::shim_source), whose version we check.
        unsafe {
            let version: U32Fn = symbol(&lib, path, "vdx_shim_version")?;
            let words: U64Fn = symbol(&lib, path, "vdx_frame_words")?;
            let expected = ((layout.in_words as u64) << 32) | layout.out_words as u64;
            if version() != shim::SHIM_VERSION || words() != expected {
                return Err(SimError::Load {
                    path: path.to_path_buf(),
                    message: "shim version or frame layout differs from this build of vdx".to_string(),
                });
            }
            let api = Api {
                new: symbol(&lib, path, "vdx_new")?,
                free: symbol(&lib, path, "vdx_free")?,
                eval: symbol(&lib, path, "vdx_eval")?,
                step: symbol(&lib, path, "vdx_step")?,
                poke: symbol(&lib, path, "vdx_poke")?,
                peek: symbol(&lib, path, "vdx_peek")?,
                peek64: symbol(&lib, path, "vdx_peek64")?,
                run: symbol(&lib, path, "vdx_run")?,
            };
            Ok(Loaded { api, _lib: lib, path: path.to_path_buf() })
        }
    }
}

/// An input port of a [`VerilatorDut`], resolved by [`VerilatorDut::input_id`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InputId(usize);

/// An output port of a [`VerilatorDut`], resolved by [`VerilatorDut::output_id`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputId(usize);

/// A Verilated model of one top module, loaded into this process and driven cycle by cycle.
///
/// Several instances, of one model or of different ones, can live side by side: each library is
/// loaded locally with its own copy of the Verilator runtime, and each instance has its own
/// `VerilatedContext`. The clock `clk_i` is driven by the cycle functions; every other input keeps
/// the last value poked (or run) until changed.
pub struct VerilatorDut {
    inst: NonNull<c_void>,
    loaded: Arc<Loaded>,
    layout: PortLayout,
    /// The inputs as last set, so that `step` can record the cycle's frame.
    frame: Vec<u32>,
    /// Inputs changed since the last eval, so a peek must settle first.
    dirty: bool,
    cycles: u64,
    recording: bool,
    recorded: Vec<u32>,
    recorded_cycles: u64,
    src: Arc<SimSource>,
    cache_root: PathBuf,
}

// SAFETY: an instance is only touched through `&mut self` (or `&self` methods that do not enter
// the model), and a Verilated model with its own context may be driven from any single thread.
unsafe impl Send for VerilatorDut {}

impl fmt::Debug for VerilatorDut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerilatorDut")
            .field("module", &self.layout.module)
            .field("library", &self.loaded.path)
            .field("cycles", &self.cycles)
            .field("recorded_cycles", &self.recorded_cycles)
            .finish_non_exhaustive()
    }
}

impl Drop for VerilatorDut {
    fn drop(&mut self) {
        // SAFETY: `inst` came from this library's `vdx_new` and is freed exactly once; the
        // library stays loaded until `loaded` is dropped after this.
        unsafe { (self.loaded.api.free)(self.inst.as_ptr()) }
    }
}

impl VerilatorDut {
    /// Builds (or takes from the cache under [`cache_dir`]) the model of `src` and instantiates
    /// it. Fails with [`SimError::ToolMissing`] when Verilator or g++ is absent, whatever
    /// `VDX_SKIP_COSIM` says: skipping is for callers to decide, via [`super::require_tool`].
    pub fn build(src: &SimSource) -> Result<Self, SimError> {
        Self::build_at(src, configured_root()?)
    }

    /// [`Self::build`] with an explicit cache root instead of [`CACHE_ENV`].
    pub(crate) fn build_in(src: &SimSource, cache_root: &Path) -> Result<Self, SimError> {
        Self::build_at(src, prepare_root(cache_root)?)
    }

    /// [`Self::build`] in a root made by [`prepare_root`].
    fn build_at(src: &SimSource, root: PathBuf) -> Result<Self, SimError> {
        let model = Model::get(src, false, &root)?;
        let layout = PortLayout::new(&src.top, &src.ports);
        let loaded = Arc::new(Loaded::open(&model.lib_path(), &layout)?);
        Self::instantiate(loaded, layout, Arc::new(src.clone()), root)
    }

    fn instantiate(
        loaded: Arc<Loaded>,
        layout: PortLayout,
        src: Arc<SimSource>,
        cache_root: PathBuf,
    ) -> Result<Self, SimError> {
        // SAFETY: `vdx_new` has no preconditions.
        let raw = unsafe { (loaded.api.new)() };
        let inst = NonNull::new(raw).ok_or_else(|| SimError::Load {
            path: loaded.path.clone(),
            message: "model constructor returned null".to_string(),
        })?;
        Ok(VerilatorDut {
            inst,
            frame: vec![0; layout.in_words],
            layout,
            loaded,
            dirty: false,
            cycles: 0,
            recording: true,
            recorded: Vec::new(),
            recorded_cycles: 0,
            src,
            cache_root,
        })
    }

    /// Another instance of the same model in its initial state, without touching the cache.
    pub(crate) fn fresh_instance(&self) -> Result<Self, SimError> {
        Self::instantiate(self.loaded.clone(), self.layout.clone(), self.src.clone(), self.cache_root.clone())
    }

    /// The cached shared library this model was loaded from (its folder also holds the
    /// Verilated C++ sources and the build log).
    pub fn library_path(&self) -> &Path {
        &self.loaded.path
    }

    /// Where the ports sit in frames for [`CycleSim::run`].
    pub fn layout(&self) -> &PortLayout {
        &self.layout
    }

    fn input_index(&self, port: &str) -> Result<usize, SimError> {
        match self.layout.inputs.iter().position(|s| s.name == port) {
            Some(i) => Ok(i),
            None => Err(self.layout.input(port).err().unwrap_or_else(|| unreachable_port(port))),
        }
    }

    fn output_index(&self, port: &str) -> Result<usize, SimError> {
        match self.layout.outputs.iter().position(|s| s.name == port) {
            Some(i) => Ok(i),
            None => Err(self.layout.output(port).err().unwrap_or_else(|| unreachable_port(port))),
        }
    }

    fn poke_slot(&mut self, idx: usize) {
        let offset = self.layout.inputs[idx].offset;
        // SAFETY: the shim reads `words` u32s of port `idx`, all inside `frame`.
        unsafe { (self.loaded.api.poke)(self.inst.as_ptr(), idx as u32, self.frame.as_ptr().add(offset)) };
        self.dirty = true;
    }

    /// Resolves input `port` once, for pokes in a per-cycle loop without name lookups.
    pub fn input_id(&self, port: &str) -> Result<InputId, SimError> {
        self.input_index(port).map(InputId)
    }

    /// Resolves output `port` once, for peeks in a per-cycle loop without name lookups.
    pub fn output_id(&self, port: &str) -> Result<OutputId, SimError> {
        self.output_index(port).map(OutputId)
    }

    /// [`Self::poke`] through a resolved port.
    pub fn poke_id(&mut self, id: InputId, value: u64) {
        self.layout.inputs[id.0].set(&mut self.frame, value);
        self.poke_slot(id.0);
    }

    /// [`Self::poke_words`] through a resolved port.
    pub fn poke_words_id(&mut self, id: InputId, words: &[u32]) {
        self.layout.inputs[id.0].set_words(&mut self.frame, words);
        self.poke_slot(id.0);
    }

    /// [`Self::peek`] through a resolved port.
    pub fn peek_id(&mut self, id: OutputId) -> u64 {
        self.settle();
        // SAFETY: ids are only made from valid output indices of this model.
        unsafe { (self.loaded.api.peek64)(self.inst.as_ptr(), id.0 as u32) }
    }

    /// All words of a resolved output port into `words` (which must hold the port's word count),
    /// without allocating.
    pub fn peek_words_into(&mut self, id: OutputId, words: &mut [u32]) {
        let n = self.layout.outputs[id.0].words;
        assert!(words.len() >= n, "peek_words_into: port needs {n} words, buffer has {}", words.len());
        self.settle();
        // SAFETY: the shim writes exactly `n` u32s for port `id`, and `words` holds at least `n`.
        unsafe { (self.loaded.api.peek)(self.inst.as_ptr(), id.0 as u32, words.as_mut_ptr()) };
    }

    /// Sets input `port` to `value`, truncated to the port width (words above 64 bits become 0).
    /// Takes effect at the next settle; `clk_i` is not pokeable because the cycle functions drive
    /// it.
    pub fn poke(&mut self, port: &str, value: u64) -> Result<(), SimError> {
        let id = self.input_id(port)?;
        self.poke_id(id, value);
        Ok(())
    }

    /// Sets a port of any width from 32-bit words (word 0 = bits 31:0); missing words are zero.
    pub fn poke_words(&mut self, port: &str, words: &[u32]) -> Result<(), SimError> {
        let id = self.input_id(port)?;
        self.poke_words_id(id, words);
        Ok(())
    }

    fn settle(&mut self) {
        if self.dirty {
            self.eval();
        }
    }

    /// The low 64 bits of output `port`, after settling the inputs poked so far.
    pub fn peek(&mut self, port: &str) -> Result<u64, SimError> {
        let id = self.output_id(port)?;
        Ok(self.peek_id(id))
    }

    /// All words of output `port` (word 0 = bits 31:0), after settling.
    pub fn peek_words(&mut self, port: &str) -> Result<Vec<u32>, SimError> {
        let id = self.output_id(port)?;
        let mut words = vec![0u32; self.layout.outputs[id.0].words];
        self.peek_words_into(id, &mut words);
        Ok(words)
    }

    /// Settles combinational logic for the current inputs.
    pub fn eval(&mut self) {
        // SAFETY: `inst` is live.
        unsafe { (self.loaded.api.eval)(self.inst.as_ptr()) };
        self.dirty = false;
    }

    /// Runs one cycle (see the cycle semantics in [`crate::sim`]): settles, records the current
    /// input frame, then pulses `clk_i`. Pokes that were settled but overwritten before the step
    /// are not in the recording, so a waveform shows only each cycle's final inputs.
    pub fn step(&mut self) {
        self.settle();
        self.record(None);
        // SAFETY: `inst` is live.
        unsafe { (self.loaded.api.step)(self.inst.as_ptr()) };
        self.cycles += 1;
        // The step leaves the clock's fall unevaluated (see the shim); the next peek settles it.
        self.dirty = true;
    }

    /// Holds `rst_ni` low for one cycle and releases it; does nothing if there is no `rst_ni`.
    pub fn reset(&mut self) {
        let Some(idx) = self.layout.inputs.iter().position(|s| s.name == "rst_ni") else {
            return;
        };
        self.layout.inputs[idx].set(&mut self.frame, 0);
        self.poke_slot(idx);
        self.step();
        self.layout.inputs[idx].set(&mut self.frame, 1);
        self.poke_slot(idx);
    }

    /// Turns input recording on or off (on by default). Recording keeps every input frame in
    /// memory for [`Self::write_vcd`]; turn it off for very long runs or timing. Cycles run while
    /// it is off are missing from a later waveform, which then no longer matches the run.
    pub fn set_recording(&mut self, on: bool) {
        self.recording = on;
    }

    /// Appends `frames` (or the current frame) to the recording.
    fn record(&mut self, frames: Option<(&[u32], u64)>) {
        if !self.recording {
            return;
        }
        let adding = frames.map_or(self.frame.len(), |(words, _)| words.len());
        if self.recorded.len() + adding > MAX_RECORDED_WORDS {
            // Replays start from power-up, so a recording cannot drop its oldest cycles: it stops,
            // and a later mismatch says how many cycles its waveform lacks.
            self.recording = false;
            return;
        }
        match frames {
            Some((words, cycles)) => {
                self.recorded.extend_from_slice(words);
                self.recorded_cycles += cycles;
            }
            None => {
                self.recorded.extend_from_slice(&self.frame);
                self.recorded_cycles += 1;
            }
        }
    }

    /// Cycles in the recording (see [`Self::set_recording`]): all cycles run, unless recording was
    /// turned off or reached its limit.
    pub fn recorded_cycles(&self) -> u64 {
        self.recorded_cycles
    }

    /// Writes a VCD of the whole run since creation, like [`Self::write_vcd`], but fails with
    /// [`SimError::RecordingIncomplete`] (writing nothing) if some cycles were not recorded.
    pub fn write_run_vcd(&self, path: &Path) -> Result<(), SimError> {
        if self.recorded_cycles < self.cycles {
            return Err(SimError::RecordingIncomplete {
                path: path.to_path_buf(),
                cycles: self.cycles,
                recorded: self.recorded_cycles,
                limit_mib: (MAX_RECORDED_WORDS * 4) >> 20,
            });
        }
        self.write_vcd(path)
    }

    /// Writes a VCD of every recorded cycle since creation, by replaying the recorded inputs into
    /// a `--trace` build of the same source (built and cached on first use). Inputs change at
    /// time `10*c`, `clk_i` rises at `10*c + 5`.
    pub fn write_vcd(&self, path: &Path) -> Result<(), SimError> {
        self.write_vcd_cycles(path, self.recorded_cycles)
    }

    /// Like [`Self::write_vcd`], for the first `cycles` recorded cycles only.
    pub fn write_vcd_cycles(&self, path: &Path, cycles: u64) -> Result<(), SimError> {
        let cycles = cycles.min(self.recorded_cycles);
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(model::io_err(parent))?;
        }
        // Creating the file here gives a proper I/O error; the C++ side only says "not opened".
        std::fs::File::create(path).map_err(model::io_err(path))?;
        let model = Model::get(&self.src, true, &self.cache_root)?;
        let lib_path = model.lib_path();
        let lib = load_library(&lib_path)?;
        let cpath = CString::new(path.as_os_str().as_encoded_bytes()).map_err(|_| SimError::Io {
            path: path.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "NUL in path"),
        })?;
        // SAFETY: the signature matches the generated `vdx_trace_replay`; `recorded` holds at least
        // `cycles` whole input frames; `lib` outlives the call.
        let rc = unsafe {
            let replay: ReplayFn = symbol(&lib, &lib_path, "vdx_trace_replay")?;
            replay(self.recorded.as_ptr(), cycles, cpath.as_ptr())
        };
        if rc != 0 {
            return Err(SimError::Io {
                path: path.to_path_buf(),
                source: std::io::Error::other("the traced model could not open the VCD file"),
            });
        }
        Ok(())
    }

    /// Builds the error for a golden-model mismatch, with a waveform of the run so far written to
    /// `$VDX_VCD_DIR` (default `./vdx-vcd`) as `<top>_seed<seed>.vcd`. If the waveform cannot be
    /// written, the reason is appended to `what`, because the mismatch matters more.
    pub fn mismatch(&self, seed: u64, what: impl Into<String>) -> SimError {
        self.mismatch_in(&vcd_dir(), seed, what.into(), self.recorded_cycles)
    }

    /// Like [`Self::mismatch`] for a divergence at `cycle` (counted from the Dut's creation): the
    /// waveform stops a few cycles after it, so a long run does not produce a huge file.
    pub fn mismatch_at(&self, seed: u64, cycle: u64, what: impl Into<String>) -> SimError {
        self.mismatch_in(&vcd_dir(), seed, what.into(), cycle.saturating_add(MISMATCH_TAIL_CYCLES + 1))
    }

    fn mismatch_in(&self, dir: &Path, seed: u64, mut what: String, cycles: u64) -> SimError {
        let file = dir.join(format!("{}_seed{seed}.vcd", self.layout.module));
        let vcd = std::path::absolute(&file).unwrap_or(file);
        if let Err(e) = self.write_vcd_cycles(&vcd, cycles) {
            what.push_str(&format!(" [no waveform: {e}]"));
        } else if self.recorded_cycles < self.cycles {
            what.push_str(&format!(
                " [waveform lacks {} cycles run with recording off]",
                self.cycles - self.recorded_cycles
            ));
        }
        SimError::Mismatch { what, seed, vcd }
    }
}

/// Input words a Dut keeps for waveform replay (256 MiB): enough for 10^6 cycles of a design with
/// a 2,000-bit input frame; longer or wider runs stop recording there.
const MAX_RECORDED_WORDS: usize = 64 << 20;

/// Cycles a mismatch waveform shows after the diverging one.
const MISMATCH_TAIL_CYCLES: u64 = 4;

/// `$VDX_VCD_DIR`, else `./vdx-vcd`.
fn vcd_dir() -> PathBuf {
    std::env::var_os(VCD_DIR_ENV)
        .filter(|d| !d.is_empty())
        .map_or_else(|| PathBuf::from("vdx-vcd"), PathBuf::from)
}

/// Only reached if `PortLayout::input`/`output` disagreed with our own search.
fn unreachable_port(port: &str) -> SimError {
    SimError::Parse(format!("port `{port}` found by name but not by position"))
}

impl CycleSim for VerilatorDut {
    fn layout(&self) -> &PortLayout {
        &self.layout
    }

    /// Steps plus batched cycles since creation, recorded or not.
    fn cycles_run(&self) -> u64 {
        self.cycles
    }

    /// One FFI call for the whole batch; the C++ loop applies each frame, settles, samples the
    /// outputs and pulses the clock.
    fn run(&mut self, inputs: &[u32], outputs: &mut [u32]) -> Result<(), SimError> {
        let cycles = self.layout.check_buffers(inputs, outputs)?;
        if cycles == 0 {
            return Ok(());
        }
        // SAFETY: check_buffers guarantees `cycles` whole frames in both buffers.
        unsafe {
            (self.loaded.api.run)(self.inst.as_ptr(), inputs.as_ptr(), outputs.as_mut_ptr(), cycles as u64)
        };
        self.record(Some((inputs, cycles as u64)));
        if self.layout.in_words > 0 {
            self.frame.copy_from_slice(&inputs[inputs.len() - self.layout.in_words..]);
        }
        // The last clock fall is left unevaluated (see the shim); the next peek settles it.
        self.dirty = true;
        self.cycles += cycles as u64;
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests;
