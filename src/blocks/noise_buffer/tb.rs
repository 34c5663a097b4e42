//! Co-simulation of `vdx_noise_buffer` against its cycle model. The stimulus is decided by a
//! second copy of the model, so reads only address full banks (a never-written SRAM word has no
//! defined value) and the run keeps cycling through fills and releases.

use super::NoiseBufferParams;
use super::golden::{BufferInputs, NoiseBufferModel};
use crate::blocks::{BlockParams, CosimReport, CosimRun};
use crate::sim::check::CycleModel;
use crate::sim::{PortLayout, SimError, Slot};
use rand::RngExt;
use rand::rngs::StdRng;

/// The testbench.
pub struct BufferBench {
    planner: NoiseBufferModel,
    model: NoiseBufferModel,
    params: NoiseBufferParams,
    ports: Option<Ports>,
    cycle: u64,
    /// Banks released so far (each one a whole tensor written and offered).
    pub releases: u64,
    /// Whether `rd_data_o` holds a defined word.
    data_known: bool,
    /// Read and release at any time and reset now and then, instead of only reading offered
    /// banks (for simulators where a never-written word reads as a value, not X).
    unrestricted: bool,
}

struct Ports {
    rst: Slot,
    in_valid: Slot,
    in_data: Slot,
    rd_en: Slot,
    rd_addr: Slot,
    release: Slot,
    in_ready: Slot,
    rd_valid: Slot,
    rd_bank: Slot,
    rd_data: Slot,
}

impl BufferBench {
    /// A bench for `params`.
    pub fn new(params: &NoiseBufferParams) -> Self {
        BufferBench {
            planner: NoiseBufferModel::new(params),
            model: NoiseBufferModel::new(params),
            params: params.clone(),
            ports: None,
            cycle: 0,
            releases: 0,
            data_known: true,
            unrestricted: false,
        }
    }

    /// A bench that also reads while no bank is offered (possibly words never written, whose
    /// value it then does not check), releases at any time (which the buffer must ignore while
    /// nothing is offered) and resets the buffer now and then.
    pub fn unrestricted(params: &NoiseBufferParams) -> Self {
        BufferBench { unrestricted: true, ..Self::new(params) }
    }

    fn ports(&mut self, layout: &PortLayout) -> &Ports {
        self.ports.get_or_insert_with(|| {
            let i = |n: &str| layout.input(n).unwrap_or_else(|e| panic!("BufferBench: {e}")).clone();
            let o = |n: &str| layout.output(n).unwrap_or_else(|e| panic!("BufferBench: {e}")).clone();
            Ports {
                rst: i("rst_ni"),
                in_valid: i("in_valid_i"),
                in_data: i("in_data_i"),
                rd_en: i("rd_en_i"),
                rd_addr: i("rd_addr_i"),
                release: i("release_i"),
                in_ready: o("in_ready_o"),
                rd_valid: o("rd_valid_o"),
                rd_bank: o("rd_bank_o"),
                rd_data: o("rd_data_o"),
            }
        })
    }

    fn inputs(&self, layout_ports: &Ports, frame: &[u32]) -> BufferInputs {
        BufferInputs {
            in_valid: layout_ports.in_valid.get(frame) == 1,
            in_data: layout_ports.in_data.get_words(frame).to_vec(),
            rd_en: layout_ports.rd_en.get(frame) == 1,
            rd_addr: layout_ports.rd_addr.get(frame),
            release: layout_ports.release.get(frame) == 1,
        }
    }
}

impl CycleModel for BufferBench {
    fn stimulus(&mut self, rng: &mut StdRng, layout: &PortLayout, frame: &mut [u32]) {
        let first = self.cycle == 0 || (self.unrestricted && rng.random_bool(1e-4));
        self.cycle += 1;
        let words = self.params.words();
        let word_len = self.params.word_bits().div_ceil(32) as usize;
        let data: Vec<u32> = (0..word_len).map(|_| rng.random()).collect();
        let in_valid = rng.random_bool(0.8);
        let offered = self.planner.offered() || self.unrestricted;
        let rd_en = offered && rng.random_bool(0.5);
        let rd_addr = rng.random_range(0..self.params.depth().min(words + u64::from(self.unrestricted)));
        let release = offered && rng.random_bool(4.0 / words as f64);
        let p = self.ports(layout);
        p.rst.set(frame, u64::from(!first));
        p.in_valid.set(frame, u64::from(in_valid));
        p.in_data.set_words(frame, &data);
        p.rd_en.set(frame, u64::from(rd_en));
        p.rd_addr.set(frame, rd_addr);
        p.release.set(frame, u64::from(release));
        let inputs = BufferInputs { in_valid, in_data: data, rd_en, rd_addr, release };
        if first {
            self.planner.reset_cycle(&inputs);
        } else {
            self.planner.cycle(&inputs);
        }
    }

    fn check(&mut self, layout: &PortLayout, inputs: &[u32], outputs: &[u32]) -> Result<u64, String> {
        self.ports(layout);
        let p = self.ports.as_ref().expect("resolved above");
        let i = self.inputs(p, inputs);
        let (rst, in_ready, rd_valid, rd_bank) = (
            p.rst.get(inputs) == 0,
            p.in_ready.get(outputs) == 1,
            p.rd_valid.get(outputs) == 1,
            p.rd_bank.get(outputs),
        );
        let rd_data = p.rd_data.get_words(outputs).to_vec();
        if rst {
            self.model.reset_cycle(&i);
            self.data_known = true;
            return Ok(0);
        }
        let (want, defined) = self.model.cycle(&i);
        let mut checks = 3;
        if (in_ready, rd_valid, rd_bank) != (want.in_ready, want.rd_valid, u64::from(want.rd_bank)) {
            return Err(format!(
                "in_ready/rd_valid/rd_bank = {}/{}/{rd_bank}, model {}/{}/{}",
                in_ready, rd_valid, want.in_ready, want.rd_valid, want.rd_bank
            ));
        }
        if self.data_known {
            if rd_data != want.rd_data {
                return Err("rd_data_o differs from the word the model read".into());
            }
            checks += 1;
        }
        if i.rd_en {
            self.data_known = defined;
        }
        if i.release && want.rd_valid {
            self.releases += 1;
        }
        Ok(checks)
    }
}

/// Builds the buffer, compiles it with Verilator (cached) and checks `run.cycles` cycles.
pub fn cosim_verilator(params: &NoiseBufferParams, run: CosimRun) -> Result<CosimReport, SimError> {
    crate::blocks::cosim_verilator(params.build(), &mut BufferBench::new(params), run)
}
