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
pub mod bughunt;
pub mod bundle;
pub mod cases;
pub mod check;
pub mod child;
pub mod cli;
pub mod compare;
pub mod dashboard;
pub mod data;
pub mod dist;
pub mod drill;
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
pub mod upstream;
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

/// The repository root: `CANDLECAMP_ROOT` when set, else [`workspace_root`].
pub fn root() -> PathBuf {
    match std::env::var_os("CANDLECAMP_ROOT") {
        Some(r) => PathBuf::from(r),
        None => workspace_root(),
    }
}

/// The grader crate's folder where this program was compiled.
pub const COMPILED_IN: &str = env!("CARGO_MANIFEST_DIR");

/// Whether `dir` is the root of a candlecamp workspace (a learner's copy or the instructors').
fn is_workspace(dir: &std::path::Path) -> bool {
    dir.join("Cargo.toml").is_file() && dir.join("grader/Cargo.toml").is_file() && dir.join("checks/registry.json").is_file()
}

/// The candlecamp workspace that holds the current directory, as cargo finds its workspace; the
/// one this program was compiled in when the current directory is outside every workspace.
/// Not the compiled-in path first: with one `CARGO_TARGET_DIR` shared by several checkouts,
/// cargo may run a grader built in another checkout, which must still read this one's registry
/// and grade this one's code.
pub fn cwd_workspace() -> Option<PathBuf> {
    let cwd = std::env::current_dir().ok()?;
    cwd.ancestors().find(|d| is_workspace(d)).map(|d| d.canonicalize().unwrap_or_else(|_| d.to_path_buf()))
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
            // Where this program's code was compiled: the week's crate, the checks, the grader
            // (the launcher rebuilds a program that another checkout's sources made).
            if std::env::args().nth(1).as_deref() == Some("__built-from") {
                println!("{}\n{}\n{}", subject::$week::BUILT_FROM, env!("CARGO_MANIFEST_DIR"), $crate::COMPILED_IN);
                return std::process::ExitCode::SUCCESS;
            }
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

/// The workspace this program grades (whatever `CANDLECAMP_ROOT` says): the one holding the
/// current directory ([`cwd_workspace`]), else the one it was compiled in. Where the launcher
/// runs cargo, and where `checks/registry.json` is.
pub fn workspace_root() -> PathBuf {
    static ROOT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    ROOT.get_or_init(|| {
        cwd_workspace().unwrap_or_else(|| {
            let p = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
            p.canonicalize().unwrap_or(p)
        })
    })
    .clone()
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
