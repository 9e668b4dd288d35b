//! The read window of a stored-fields file: bounded ranged reads, front to back.

use crate::error::Result;
use crate::lucene::directory::LuceneFile;

/// Reads the bytes of a file front to back through a bounded window of ranged reads.
pub(super) struct Window {
    pub(super) file: LuceneFile,
    /// Where the data ends (the footer is not read through the window).
    pub(super) data_end: u64,
    /// `buf[pos..valid]` are the file's bytes from `buf_start + pos` on.
    buf: Vec<u8>,
    valid: usize,
    /// File offset of `buf[0]`.
    buf_start: u64,
    pos: usize,
    /// The other buffer of the pair: refills read into it, then the two swap, so steady-state
    /// reading allocates nothing.
    spare: Vec<u8>,
    read_size: usize,
}

impl Window {
    pub(super) fn new(file: LuceneFile, start: u64, data_end: u64, read_size: usize) -> Window {
        Window {
            file,
            data_end,
            buf: Vec::new(),
            valid: 0,
            buf_start: start,
            pos: 0,
            spare: Vec::new(),
            read_size,
        }
    }

    pub(super) fn offset(&self) -> u64 {
        self.buf_start + self.pos as u64
    }

    pub(super) fn available(&self) -> &[u8] {
        &self.buf[self.pos..self.valid]
    }

    pub(super) fn at_end(&self) -> bool {
        self.buf_start + self.valid as u64 >= self.data_end
    }

    pub(super) fn consume(&mut self, n: usize) {
        self.pos += n;
    }

    pub(super) fn seek(&mut self, offset: u64) {
        let end = self.buf_start + self.valid as u64;
        if offset >= self.buf_start && offset <= end {
            self.pos = (offset - self.buf_start) as usize;
        } else {
            self.valid = 0;
            self.buf_start = offset;
            self.pos = 0;
        }
    }

    /// Makes at least `want` bytes available (fewer only at the end of the data).
    pub(super) fn fill(&mut self, want: usize) -> Result<()> {
        let tail = self.valid - self.pos;
        if tail >= want || self.at_end() {
            return Ok(());
        }
        // The unread tail moves to the front of the spare buffer; one ranged read appends the
        // next stretch behind it.
        let have_to = self.buf_start + self.valid as u64;
        let n = ((want - tail).max(self.read_size) as u64).min(self.data_end - have_to) as usize;
        let total = tail + n;
        if self.spare.len() < total {
            self.spare.resize(total, 0);
        }
        self.spare[..tail].copy_from_slice(&self.buf[self.pos..self.valid]);
        self.file.read_into(have_to, &mut self.spare[tail..total])?;
        std::mem::swap(&mut self.buf, &mut self.spare);
        self.buf_start += self.pos as u64;
        self.pos = 0;
        self.valid = total;
        // Keep the spare from holding on to an outsized window (after a huge unit).
        if self.spare.len() > 4 * self.read_size {
            self.spare = Vec::new();
        }
        Ok(())
    }
}
