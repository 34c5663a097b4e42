//! Cycle model of `vdx_noise_buffer`.

use super::NoiseBufferParams;

/// What the buffer shows during one cycle (before the clock edge).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BufferOutputs {
    /// `in_ready_o`.
    pub in_ready: bool,
    /// `rd_valid_o`.
    pub rd_valid: bool,
    /// `rd_bank_o`.
    pub rd_bank: u8,
    /// `rd_data_o` (32-bit words, little-endian).
    pub rd_data: Vec<u32>,
}

/// Inputs of one cycle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BufferInputs {
    /// `in_valid_i`.
    pub in_valid: bool,
    /// `in_data_i`.
    pub in_data: Vec<u32>,
    /// `rd_en_i`.
    pub rd_en: bool,
    /// `rd_addr_i`.
    pub rd_addr: u64,
    /// `release_i`.
    pub release: bool,
}

/// The buffer's registers and memories.
#[derive(Debug, Clone)]
pub struct NoiseBufferModel {
    words: u64,
    word_len: usize,
    banks: [Vec<Option<Vec<u32>>>; 2],
    wr_bank: usize,
    wr_addr: u64,
    full: [bool; 2],
    rd_bank: usize,
    rd_data: Vec<u32>,
}

impl NoiseBufferModel {
    /// The model after reset.
    pub fn new(p: &NoiseBufferParams) -> Self {
        let word_len = p.word_bits().div_ceil(32) as usize;
        let depth = p.depth() as usize;
        NoiseBufferModel {
            words: p.words(),
            word_len,
            banks: [vec![None; depth], vec![None; depth]],
            wr_bank: 0,
            wr_addr: 0,
            full: [false; 2],
            rd_bank: 0,
            rd_data: vec![0; word_len],
        }
    }

    /// Whether a full bank is offered for reading (`rd_valid_o` this cycle).
    pub fn offered(&self) -> bool {
        self.full[self.rd_bank]
    }

    /// A cycle with `rst_ni` low: the registers are held in reset, but the SRAM has no reset, and
    /// the reset state shows `in_ready_o` high, so a word offered now is written to word 0 of bank 0
    /// (and overwritten by the first write after reset).
    pub fn reset_cycle(&mut self, i: &BufferInputs) {
        self.reset();
        if i.in_valid {
            self.banks[0][0] = Some(i.in_data.clone());
        }
    }

    /// Applies the asynchronous reset (memory contents are kept, as in an SRAM).
    pub fn reset(&mut self) {
        self.wr_bank = 0;
        self.wr_addr = 0;
        self.full = [false; 2];
        self.rd_bank = 0;
        self.rd_data = vec![0; self.word_len];
    }

    /// The outputs during a cycle with these inputs, then the clock edge. A read of a word never
    /// written returns `None` in place of the data (the hardware gives whatever the SRAM holds).
    pub fn cycle(&mut self, i: &BufferInputs) -> (BufferOutputs, bool) {
        let out = BufferOutputs {
            in_ready: !self.full[self.wr_bank],
            rd_valid: self.full[self.rd_bank],
            rd_bank: self.rd_bank as u8,
            rd_data: self.rd_data.clone(),
        };
        let mut read_defined = true;
        if i.rd_en {
            match &self.banks[self.rd_bank][i.rd_addr as usize] {
                Some(w) => self.rd_data = w.clone(),
                None => read_defined = false,
            }
        }
        let release = i.release && self.full[self.rd_bank];
        if i.in_valid && out.in_ready {
            self.banks[self.wr_bank][self.wr_addr as usize] = Some(i.in_data.clone());
            if self.wr_addr + 1 == self.words {
                self.wr_addr = 0;
                self.full[self.wr_bank] = true;
                self.wr_bank ^= 1;
            } else {
                self.wr_addr += 1;
            }
        }
        if release {
            self.full[self.rd_bank] = false;
            self.rd_bank ^= 1;
        }
        (out, read_defined)
    }
}
