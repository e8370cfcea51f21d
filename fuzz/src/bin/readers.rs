//! One fuzz target for every reader of files from outside (see `read_fuzz_input`). A reader
//! may load the file or return an error; a panic or an abort is a crash AFL++ records. What it
//! finds goes to crates/data/tests/fuzz_found/, replayed by the data crate's tests.

include!("../../../crates/data/tests/common/fuzz_input.rs");

fn main() {
    let dir = std::path::PathBuf::from(format!("/dev/shm/latentr3-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a scratch directory in /dev/shm");
    afl::fuzz!(|data: &[u8]| {
        let _ = read_fuzz_input(&dir, data);
    });
}
