//! What long jobs report while they run. The library prints nothing: it tells an [`Observer`],
//! and the `latentr3` binary turns that into progress bars and lines on stderr.

/// Receives progress; every method has a silent default ([`Silent`] ignores everything).
pub trait Observer {
    /// A status line: what was loaded, where the run goes, each epoch's summary, alarms.
    fn message(&mut self, _line: &str) {}
    /// Work of unknown length starts (loading a dataset, an evaluation).
    fn busy(&mut self, _what: &str) {}
    /// The work announced by [`Observer::busy`] ended.
    fn idle(&mut self) {}
    /// An epoch of `steps` steps starts; `label` is `epoch` (SFT) or `rl epoch`.
    fn epoch_start(&mut self, _label: &str, _epoch: usize, _steps: usize) {}
    /// One step finished; `status` summarises it (loss or reward, throughput).
    fn step(&mut self, _status: &str) {}
    /// The epoch's steps are done (validation follows).
    fn epoch_end(&mut self) {}
}

/// The observer that ignores everything: the same one the SFT and RL stages take.
pub use latentr3_model::Silent;

impl Observer for Silent {}
