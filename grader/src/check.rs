//! What a check sees (`Ctx`) and what it returns (`CheckResult`).

use crate::fixtures;
use candle_core::{Device, Tensor};
use std::cell::RefCell;
use std::collections::HashMap;
use std::path::PathBuf;
use std::rc::Rc;

/// Why a check did not pass. Who is to blame is the variant; there is deliberately no
/// conversion from `candle_core::Error` (see [`Learner`]).
#[derive(Debug, thiserror::Error)]
pub enum Fail {
    /// The learner's output is wrong: the message is the diagnosis.
    #[error("{0}")]
    Mismatch(String),
    /// The learner's function returned `Err`.
    #[error("your function returned an error: {0}")]
    LearnerError(String),
    /// A fixture or a dataset is missing or corrupt: not the learner's fault; the message names
    /// the fix.
    #[error("{0}")]
    Fixture(String),
    /// The check cannot run here (e.g. needs network or a GPU); never counts as a pass.
    #[error("skipped: {0}")]
    Skipped(String),
    /// A bug in the grader itself.
    #[error("grader error: {0}")]
    Internal(String),
}

/// A fixture that cannot be used is reported as one (status `error`, with how to remake it).
impl From<crate::fixtures::FixtureError> for Fail {
    fn from(e: crate::fixtures::FixtureError) -> Fail {
        Fail::Fixture(e.to_string())
    }
}

/// So is a dataset that is missing or damaged (with how to get it).
impl From<crate::data::DataError> for Fail {
    fn from(e: crate::data::DataError) -> Fail {
        Fail::Fixture(e.to_string())
    }
}

pub type CheckResult = Result<(), Fail>;

/// A candle error as a report line: the message without the backtrace candle attaches when
/// library backtraces are on (the child turns them on for CUDA), followed by a diagnosis of the
/// mistakes that only show on a GPU, located with that backtrace where it helps.
pub fn describe(e: &candle_core::Error) -> String {
    let (inner, backtrace) = unwrap_backtrace(e);
    let message = inner.to_string();
    match diagnose_device_error(&message, backtrace.as_deref()) {
        Some(d) => format!("{message}\n  {d}"),
        None => message,
    }
}

fn unwrap_backtrace(e: &candle_core::Error) -> (&candle_core::Error, Option<String>) {
    match e {
        candle_core::Error::WithBacktrace { inner, backtrace } => (unwrap_backtrace(inner).0, Some(backtrace.to_string())),
        other => (other, None),
    }
}

/// What candle's CUDA backend refuses that its CPU backend accepts, explained; `None` for any
/// other message. `backtrace` (std's rendering, when captured) names the tensor operation that
/// failed and the line of the learner's code that called it.
pub fn diagnose_device_error(message: &str, backtrace: Option<&str>) -> Option<String> {
    let place = backtrace.and_then(failing_call);
    let operation = match &place {
        Some((op, Some(site))) => format!("candle's `Tensor::{op}` (called at {site})"),
        Some((op, None)) => format!("candle's `Tensor::{op}`"),
        None => "this operation".to_string(),
    };
    if message.contains("matmul is only supported for contiguous tensors") {
        return Some(format!(
            "diagnosis: candle's CUDA matmul needs each operand contiguous or a plain transpose of a contiguous matrix; a slice (narrow, or squeeze of a middle axis) whose rows are further apart than its width is refused, though the CPU matmul takes it. Call `.contiguous()?` on the sliced operand before `matmul`{}.",
            place.as_ref().and_then(|(_, s)| s.as_ref()).map(|s| format!(" (the call at {s})")).unwrap_or_default()
        ));
    }
    if message.contains("named symbol not found") || message.contains("CUDA_ERROR_NOT_FOUND") {
        return Some(format!(
            "diagnosis: {} has no CUDA kernel for the dtype it was given (candle-kernels 0.11.1 has none for I32 apart from fp8 casts, and integer dtypes only for copies, comparisons, indexing and arithmetic). Keep values in F32 (or F64) and indices or counts in U32 or I64; convert on the CPU first when a file gives you I32.",
            operation
        ));
    }
    if message.contains("device mismatch") {
        return Some(
            "diagnosis: one operand is on another device. A tensor you created with `Device::Cpu` (or `&Device::Cpu` in `Tensor::new`, `zeros`, `arange`, …) meets the inputs the grader put on the GPU: create every tensor on `x.device()` or on the `dev` you were given."
                .into(),
        );
    }
    None
}

/// In a rendered backtrace (innermost frame first): the outermost candle `Tensor` method of the
/// innermost run of candle frames (the public operation that failed), and the location of the
/// first frame below it that is code in a week's crate (file:line), when there is one.
fn failing_call(backtrace: &str) -> Option<(String, Option<String>)> {
    // Frames are "N: function" lines, each optionally followed by an "at file:line:col" line.
    let mut frames: Vec<(String, Option<String>)> = Vec::new();
    for line in backtrace.lines().map(str::trim) {
        if let Some(at) = line.strip_prefix("at ") {
            if let Some(last) = frames.last_mut() {
                last.1.get_or_insert_with(|| at.to_string());
            }
        } else if let Some((n, f)) = line.split_once(": ") {
            if n.chars().all(|c| c.is_ascii_digit()) {
                frames.push((f.to_string(), None));
            }
        }
    }
    let first = frames.iter().position(|(f, _)| f.starts_with("candle_core::tensor::Tensor::"))?;
    let mut op = None;
    let mut k = first;
    while k < frames.len() && (frames[k].0.starts_with("candle_core::") || frames[k].0.starts_with("<candle_core::")) {
        if let Some(rest) = frames[k].0.strip_prefix("candle_core::tensor::Tensor::") {
            op = Some(rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect::<String>());
        }
        k += 1;
    }
    let site = frames[k..].iter().find_map(|(_, at)| {
        let at = at.as_deref()?;
        let start = at.find("weeks/").or_else(|| at.find("solutions/"))?;
        Some(at[start..].to_string())
    });
    Some((op?, site))
}

/// Who is at fault when a candle operation fails inside a check. There is no blanket
/// conversion from `candle_core::Error` to [`Fail`]: every `?` on a candle result in a check
/// says, through one of these, whose error it is, and the compiler refuses one that does not.
///
/// - [`Learner::learner`]: the learner's function itself returned `Err` (status `failed`).
/// - [`Learner::on_learner`]: the check's own arithmetic failed on a value the learner's code
///   produced, e.g. `broadcast_mul` on logits of the wrong shape (status `failed`: the value is
///   wrong, and the message says what the check was doing).
/// - [`Learner::grader`]: the check's arithmetic on values the grader made itself (fixtures,
///   constants) failed: a grader bug (status `error`, "not the learner's fault").
pub trait Learner<T> {
    fn learner(self) -> Result<T, Fail>;
    fn on_learner(self) -> Result<T, Fail>;
    fn grader(self) -> Result<T, Fail>;
}

impl<T> Learner<T> for candle_core::Result<T> {
    fn learner(self) -> Result<T, Fail> {
        self.map_err(|e| Fail::LearnerError(format!("your function returned an error: {}", describe(&e))))
    }
    fn on_learner(self) -> Result<T, Fail> {
        self.map_err(|e| Fail::Mismatch(format!("your result does not fit what the check computes with it: {}", describe(&e))))
    }
    fn grader(self) -> Result<T, Fail> {
        self.map_err(|e| Fail::Internal(format!("grader error: {}", describe(&e))))
    }
}

/// Fail with a diagnosis unless `cond` holds.
pub fn ensure(cond: bool, msg: impl FnOnce() -> String) -> CheckResult {
    if cond {
        Ok(())
    } else {
        Err(Fail::Mismatch(msg()))
    }
}

/// One part of a check of several (see [`parts`]).
pub type Part<'a> = (&'a str, Box<dyn FnOnce() -> CheckResult + 'a>);

/// A check of several parts: each runs and is reported, the parts that failed and the ones that
/// held, so that a learner sees which property broke (a component check failing beside a
/// completeness property that held points at the cause). A grader error or a skip stops at
/// once; the learner's mistakes are collected.
pub fn parts(list: Vec<Part>) -> CheckResult {
    let mut failed = Vec::new();
    let mut held = Vec::new();
    for (name, part) in list {
        match part() {
            Ok(()) => held.push(name.to_string()),
            Err(Fail::Mismatch(m)) => failed.push(format!("[{name}] {m}")),
            Err(Fail::LearnerError(m)) => failed.push(format!("[{name}] your function returned an error: {m}")),
            Err(other) => return Err(other),
        }
    }
    if failed.is_empty() {
        return Ok(());
    }
    let held = if held.is_empty() { String::new() } else { format!("\n  held: {}", held.iter().map(|h| format!("[{h}]")).collect::<Vec<_>>().join(", ")) };
    Err(Fail::Mismatch(format!("{}{held}", failed.join("\n  "))))
}

/// Fail unless `t` has exactly the shape `dims` (before using a learner's tensor in further math).
pub fn shape_is(label: &str, t: &candle_core::Tensor, dims: &[usize]) -> CheckResult {
    ensure(t.dims() == dims, || format!("{label}: shape is {:?}, expected {dims:?}", t.dims()))
}

/// This process's resident memory in bytes (Linux: `/proc/self/statm`), or None elsewhere. For
/// checks that a learner's code does not keep memory alive from step to step.
pub fn resident_bytes() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = text.split_whitespace().nth(1)?.parse().ok()?;
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    Some(pages * page.max(1) as u64)
}

/// The context a check runs in.
pub struct Ctx {
    pub device: Device,
    /// `--long`: run the slow training targets too.
    pub long: bool,
    /// Where pictures and other artefacts go (`target/candlecamp/`).
    pub out_dir: PathBuf,
    cache: RefCell<HashMap<String, Rc<Fixture>>>,
    notes: RefCell<Vec<String>>,
}

impl Ctx {
    pub fn new(device: Device, long: bool) -> Ctx {
        Ctx { device, long, out_dir: crate::root().join("target/candlecamp"), cache: RefCell::new(HashMap::new()), notes: RefCell::new(Vec::new()) }
    }

    /// Load a fixture file (path relative to `fixtures/`), verifying its sha256 against
    /// `fixtures/MANIFEST` first.
    pub fn fixture(&self, rel: &str) -> Result<Rc<Fixture>, Fail> {
        if let Some(f) = self.cache.borrow().get(rel) {
            return Ok(f.clone());
        }
        let path = fixtures::verified_path(rel)?;
        let tensors =
            candle_core::safetensors::load(&path, &Device::Cpu).map_err(|e| Fail::Fixture(format!("cannot read fixture {rel}: {e}; {}", fixtures::REMAKE)))?;
        let f = Rc::new(Fixture { rel: rel.to_string(), tensors, device: self.device.clone() });
        self.cache.borrow_mut().insert(rel.to_string(), f.clone());
        Ok(f)
    }
}

impl Ctx {
    /// The path for a file a person will look at (`target/candlecamp/<rel>`), its folder made;
    /// the report lists it under the exercise.
    pub fn artefact(&self, rel: &str) -> Result<PathBuf, Fail> {
        let path = self.out_dir.join(rel);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| Fail::Internal(format!("cannot create {}: {e}", dir.display())))?;
        }
        let shown = path.strip_prefix(crate::root()).map(|p| p.display().to_string()).unwrap_or_else(|_| path.display().to_string());
        self.note(format!("wrote {shown}"));
        Ok(path)
    }

    /// A line for the report under the exercise, shown even when it passes (a measured
    /// accuracy, a file written).
    pub fn note(&self, line: impl Into<String>) {
        self.notes.borrow_mut().push(line.into());
    }

    /// Every note recorded so far.
    pub fn notes(&self) -> Vec<String> {
        self.notes.borrow().clone()
    }

    /// A JSON fixture (non-tensor inputs such as strings), verified like the tensor files.
    pub fn json(&self, rel: &str) -> Result<serde_json::Value, Fail> {
        let path = fixtures::verified_path(rel)?;
        let text = std::fs::read_to_string(&path).map_err(|e| Fail::Fixture(format!("cannot read fixture {rel}: {e}")))?;
        serde_json::from_str(&text).map_err(|e| Fail::Fixture(format!("fixture {rel} is not valid JSON: {e}; {}", fixtures::REMAKE)))
    }
}

/// A snapshot of a `VarMap`'s variables by name (a poisoned lock still holds a usable map: the
/// panic that poisoned it is reported on its own).
pub fn variables(vm: &candle_nn::VarMap) -> HashMap<String, candle_core::Var> {
    vm.data().lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
}

/// A fixture file other than a tensor file (a model's config, a vocabulary): its path, after
/// checking it against fixtures/MANIFEST.
pub fn fixture_path(rel: &str) -> Result<std::path::PathBuf, Fail> {
    Ok(crate::fixtures::verified_path(rel)?)
}

/// The text of such a fixture.
pub fn fixture_text(rel: &str) -> Result<String, Fail> {
    std::fs::read_to_string(fixture_path(rel)?).map_err(|e| Fail::Fixture(format!("fixtures/{rel}: {e}")))
}

/// A loaded fixture file: named tensors made by PyTorch.
pub struct Fixture {
    rel: String,
    tensors: HashMap<String, Tensor>,
    device: Device,
}

impl Fixture {
    /// A tensor, on the check's device.
    pub fn get(&self, name: &str) -> Result<Tensor, Fail> {
        let t = self.tensors.get(name).ok_or_else(|| Fail::Fixture(format!("fixture {} has no tensor named {name:?}; {}", self.rel, fixtures::REMAKE)))?;
        t.to_device(&self.device).grader()
    }

    /// A tensor as stored, on the host (the CPU), for the grader's own reading: sizes, shapes,
    /// index lists, scalars. Reading these through the check's device would need a kernel for
    /// every stored dtype and a device buffer for every empty tensor; candle's CUDA backend has
    /// neither for all of them (no I32 casts in candle-kernels 0.11.1, and an empty device
    /// buffer fails with CUDA_ERROR_INVALID_VALUE), so grader-side values never go there.
    pub fn host(&self, name: &str) -> Result<Tensor, Fail> {
        self.tensors.get(name).cloned().ok_or_else(|| Fail::Fixture(format!("fixture {} has no tensor named {name:?}; {}", self.rel, fixtures::REMAKE)))
    }

    /// A tensor converted to `dtype` on the host, then moved to the check's device (e.g. indices
    /// that PyTorch stored as int64 or int32 and the exercise takes as u32).
    pub fn get_as(&self, name: &str, dtype: candle_core::DType) -> Result<Tensor, Fail> {
        let t = self.host(name)?;
        let t = t.to_dtype(dtype).map_err(|e| Fail::Fixture(format!("fixture {} / {name}: cannot convert to {dtype:?}: {e}", self.rel)))?;
        t.to_device(&self.device).map_err(|e| Fail::Internal(format!("fixture {} / {name}: cannot move it to the device: {e}", self.rel)))
    }

    /// Every value of a tensor as f64, read on the host.
    pub fn values(&self, name: &str) -> Result<Vec<f64>, Fail> {
        crate::compare::to_f64(&self.host(name)?)
    }

    /// A scalar stored as a 0-d or 1-element tensor, as usize (sizes, counts).
    pub fn usize(&self, name: &str) -> Result<usize, Fail> {
        let v = self.values(name)?;
        match v.as_slice() {
            [x] if *x >= 0.0 && x.fract() == 0.0 => Ok(*x as usize),
            _ => Err(Fail::Fixture(format!("fixture {} / {name}: expected one non-negative integer, found {v:?}", self.rel))),
        }
    }

    /// A scalar as f64.
    pub fn f64(&self, name: &str) -> Result<f64, Fail> {
        let v = self.values(name)?;
        match v.as_slice() {
            [x] => Ok(*x),
            _ => Err(Fail::Fixture(format!("fixture {} / {name}: expected one number, found {} values", self.rel, v.len()))),
        }
    }

    /// The fixture's path under `fixtures/`.
    pub fn rel(&self) -> &str {
        &self.rel
    }

    /// Whether the fixture has a tensor of this name.
    pub fn has(&self, name: &str) -> bool {
        self.tensors.contains_key(name)
    }

    /// A `VarBuilder` over all of the fixture's tensors (on the check's device, f32), for
    /// loading a checkpoint into the learner's modules by name.
    pub fn var_builder(&self) -> Result<candle_nn::VarBuilder<'static>, Fail> {
        let mut map = HashMap::new();
        for (k, v) in &self.tensors {
            map.insert(k.clone(), v.to_device(&self.device).grader()?);
        }
        Ok(candle_nn::VarBuilder::from_tensors(map, candle_core::DType::F32, &self.device))
    }

    /// Names of all tensors starting with `prefix` (sorted), for "one case per entry" checks.
    pub fn names_with_prefix(&self, prefix: &str) -> Vec<String> {
        let mut v: Vec<String> = self.tensors.keys().filter(|k| k.starts_with(prefix)).cloned().collect();
        v.sort();
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BACKTRACE: &str = "   0: candle_core::error::Error::bt
   1: candle_core::cuda_backend::error::<impl candle_core::cuda_backend::error::WrapErr<O> for core::result::Result<O,E>>::w
   2: <candle_core::cuda_backend::CudaStorage as candle_core::backend::BackendStorage>::to_dtype
   3: candle_core::storage::Storage::to_dtype
   4: candle_core::tensor::Tensor::to_dtype
   5: week0::bigram::mean_nll
             at ./weeks/week0/src/bigram.rs:34:5
   6: grader::suites::week0::bigram::exercises::{{closure}}
             at ./grader/src/suites/week0/bigram.rs:81:27";

    #[test]
    fn a_missing_kernel_names_the_operation_and_the_learners_line() {
        let d = diagnose_device_error("DriverError(CUDA_ERROR_NOT_FOUND, \"named symbol not found\")", Some(BACKTRACE)).unwrap();
        assert!(d.contains("`Tensor::to_dtype` (called at weeks/week0/src/bigram.rs:34:5)") && d.contains("U32 or I64"), "{d}");
        let d = diagnose_device_error("DriverError(CUDA_ERROR_NOT_FOUND, \"named symbol not found\")", None).unwrap();
        assert!(d.starts_with("diagnosis: this operation has no CUDA kernel") && d.contains("I32"), "{d}");
    }

    #[test]
    fn a_sliced_matmul_operand_is_told_to_be_contiguous() {
        let msg = "matmul is only supported for contiguous tensors lstride: Layout { shape: [2, 5], stride: [30, 1], start_offset: 5 } rstride: Layout { shape: [5, 4], stride: [1, 5], start_offset: 0 } mnk: (2, 4, 5)";
        let bt = BACKTRACE.replace("to_dtype", "matmul");
        let d = diagnose_device_error(msg, Some(&bt)).unwrap();
        assert!(d.contains(".contiguous()?") && d.contains("weeks/week0/src/bigram.rs:34:5"), "{d}");
    }

    #[test]
    fn a_tensor_made_on_the_cpu_is_a_device_mismatch_with_advice() {
        let e = candle_core::Error::DeviceMismatchBinaryOp {
            lhs: candle_core::DeviceLocation::Cpu,
            rhs: candle_core::DeviceLocation::Cuda { gpu_id: 0 },
            op: "add",
        };
        let d = describe(&e);
        assert!(d.starts_with("device mismatch in add") && d.contains("x.device()"), "{d}");
        let wrapped: candle_core::Result<()> = Err(e);
        match wrapped.learner() {
            Err(Fail::LearnerError(m)) => assert!(m.contains("your function returned an error") && m.contains("diagnosis")),
            other => panic!("{other:?}"),
        }
        assert!(diagnose_device_error("shape mismatch in add", None).is_none());
    }

    /// Grader-side values are read on the host, whatever their dtype (the names split is I32,
    /// which candle's CUDA backend cannot convert) or size (shape lists may be empty).
    #[test]
    fn fixture_values_are_read_on_the_host() {
        let ctx = Ctx::new(Device::Cpu, false);
        let fx = ctx.fixture("week0/bigram.safetensors").unwrap();
        assert_eq!(fx.host("split.perm").unwrap().dtype(), candle_core::DType::I32);
        let perm = fx.values("split.perm").unwrap();
        assert_eq!(perm.len(), 32033);
        assert!(perm.iter().all(|&i| (0.0..32033.0).contains(&i)));
        assert_eq!(fx.get_as("neural.xs", candle_core::DType::U32).unwrap().dtype(), candle_core::DType::U32);
        let ag = ctx.fixture("week1/autograd.safetensors").unwrap();
        assert!(ag.values("unbroadcast.2.shape").unwrap().is_empty());
    }
}
