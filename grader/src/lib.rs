//! candlecamp's grader: the registry of exercises, a runner that grades each exercise in its own
//! process, comparison helpers, and the instructor tools (stubs, fixtures, dist). It links no
//! learner code: each week's checks are a program of their own (`checks/weekN`, built on this
//! library), and the `grader` binary is the launcher that builds and runs them ([`launch`]).
//!
//! Errors: what a check can meet has a type of its own (`thiserror`): [`check::Fail`] says who
//! is to blame, and [`fixtures::FixtureError`], [`data::DataError`], [`hub::HubError`],
//! [`registry::RegistryError`] and [`DeviceError`] say what is missing and how to get it (a
//! missing fixture or dataset becomes `Fail::Fixture` through `?`). The commands (`cli`,
//! `launch`, `mutants`, `dist`, `stubs`, `reset`, `book`, `bench`) return `anyhow::Result` with
//! the context of each step; a [`cli::Usage`] error inside one exits with status 2, any other
//! with 1.

/// Every program that links the grader (the grader itself and each week's checks program)
/// allocates with mimalloc instead of glibc's malloc (issue 15; `book/src/speed.md` has the
/// measurements). A training step allocates and frees buffers of up to hundreds of MB (GPT-2's
/// embedding gradient is 154 MB); glibc gives the largest back to the system and faults them in
/// again, zeroed, at the next step, however it is tuned. The launcher tells mimalloc to keep
/// freed memory for good (`MIMALLOC_PURGE_DELAY=-1`, see `launch::week_program`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub mod bench;
pub mod book;
pub mod bundle;
pub mod cases;
pub mod check;
pub mod child;
pub mod cli;
pub mod compare;
pub mod data;
pub mod dist;
pub mod fixtures;
pub mod forbid;
pub mod hints;
pub mod hub;
pub mod independent;
pub mod launch;
pub mod lint;
pub mod live;
pub mod minilm;
pub mod mutants;
pub mod parity;
pub mod picture;
pub mod progress;
pub mod regions;
pub mod registry;
pub mod report;
pub mod reset;
pub mod runner;
pub mod source;
pub mod stats;
pub mod stubs;
pub mod subject;
pub mod watch;

use std::path::PathBuf;

/// Whether the thread count came from the person running the program (its value is then left
/// alone everywhere: the runner divides the cores among parallel children only when it did not).
pub fn threads_set_by_user() -> bool {
    static FROM_USER: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *FROM_USER.get_or_init(|| std::env::var_os("RAYON_NUM_THREADS").is_some())
}

/// Fix the thread count candle asks for at every matrix product. Unless `RAYON_NUM_THREADS` is
/// set, `candle_core::utils::get_num_threads` works it out afresh at each call from the CPU
/// mask and `/proc/cpuinfo`: 14 µs a call here against 52 ns with the variable set, which is
/// every matmul of a training step (the grader's runner sets it for graded children; `grader
/// bench` and a week program run by hand did not). Called first in `main`, before any thread
/// starts; the value is the one candle would compute.
pub fn pin_thread_count() {
    if !threads_set_by_user() {
        std::env::set_var("RAYON_NUM_THREADS", candle_core::utils::get_num_threads().to_string());
    }
}

/// The repository root (where the grader was compiled, or `CANDLECAMP_ROOT`).
pub fn root() -> PathBuf {
    match std::env::var_os("CANDLECAMP_ROOT") {
        Some(r) => PathBuf::from(r),
        None => {
            let p = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
            p.canonicalize().unwrap_or(p)
        }
    }
}

/// The rest of a week's checks program (`checks/weekN/src/main.rs`), after its `subject` and
/// week modules: registers the week's exercises and benchmarks (`week_program!(week1,
/// week1::benches)`), runs the command line, and adds the test that `checks/registry.json`
/// records what the program registers.
#[macro_export]
macro_rules! week_program {
    ($week:ident, $benches:expr) => {
        $crate::week_program!($week, $benches, || None);
    };
    // `$entry` runs first: a week whose checks start helper processes of this same program
    // (week 3 kills a training child mid-run) recognises them there and returns their exit code.
    ($week:ident, $benches:expr, $entry:expr) => {
        fn linked() -> $crate::registry::Linked {
            $crate::registry::Linked { week: stringify!($week), exercises: $week::exercises, benches: $benches }
        }

        fn main() -> std::process::ExitCode {
            $crate::pin_thread_count();
            let entry: fn() -> Option<std::process::ExitCode> = $entry;
            if let Some(code) = entry() {
                return code;
            }
            $crate::cli::runner_main(linked())
        }

        #[cfg(test)]
        mod registered {
            /// What this program registers is what checks/registry.json records, and its
            /// benchmarks follow `grader bench`'s rules.
            #[test]
            fn as_recorded() {
                $crate::registry::verify(&super::linked()).unwrap();
            }
        }
    };
}

/// The workspace this program was built from (whatever `CANDLECAMP_ROOT` says): where the
/// launcher runs cargo, and where `checks/registry.json` is.
pub fn workspace_root() -> PathBuf {
    let p = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    p.canonicalize().unwrap_or(p)
}

/// Why the device named on the command line cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    #[error("unknown device {0:?}: use cpu or cuda")]
    Unknown(String),
    #[error("this grader was built without CUDA: rebuild with `--features cuda` (`just grade-cuda WEEK`) on a machine with nvcc")]
    NoCudaBuild,
    #[error("cannot open CUDA device 0: {0}")]
    Cuda(candle_core::Error),
}

/// The device named on the command line.
pub fn make_device(name: &str) -> Result<candle_core::Device, DeviceError> {
    match name {
        "cpu" => Ok(candle_core::Device::Cpu),
        #[cfg(feature = "cuda")]
        "cuda" => candle_core::Device::new_cuda(0).map_err(DeviceError::Cuda),
        #[cfg(not(feature = "cuda"))]
        "cuda" => Err(DeviceError::NoCudaBuild),
        other => Err(DeviceError::Unknown(other.to_string())),
    }
}
