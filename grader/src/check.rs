//! What a check sees (`Ctx`) and what it returns (`CheckResult`).

use crate::fixtures;
use candle_core::{Device, Tensor};
use std::cell::RefCell;
use std::collections::HashMap;
use std::path::PathBuf;
use std::rc::Rc;

/// Why a check did not pass.
#[derive(Debug)]
pub enum Fail {
    /// The learner's output is wrong: the message is the diagnosis.
    Mismatch(String),
    /// The learner's function returned `Err`.
    LearnerError(String),
    /// A fixture is missing or corrupt: not the learner's fault; the message names the fix.
    Fixture(String),
    /// The check cannot run here (e.g. needs network or a GPU); never counts as a pass.
    Skipped(String),
    /// A bug in the grader itself.
    Internal(String),
}

pub type CheckResult = Result<(), Fail>;

impl From<candle_core::Error> for Fail {
    fn from(e: candle_core::Error) -> Self {
        Fail::Internal(format!("grader error: {e}"))
    }
}

/// Mark a `Result` as coming from learner code: an `Err` becomes a failed check with the error
/// message, not a grader error.
pub trait Learner<T> {
    fn learner(self) -> Result<T, Fail>;
}

impl<T> Learner<T> for candle_core::Result<T> {
    fn learner(self) -> Result<T, Fail> {
        self.map_err(|e| Fail::LearnerError(format!("your function returned an error: {e}")))
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

/// Fail unless `t` has exactly the shape `dims` (before using a learner's tensor in further math).
pub fn shape_is(label: &str, t: &candle_core::Tensor, dims: &[usize]) -> CheckResult {
    ensure(t.dims() == dims, || format!("{label}: shape is {:?}, expected {dims:?}", t.dims()))
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
        let path = fixtures::verified_path(rel).map_err(Fail::Fixture)?;
        let tensors = candle_core::safetensors::load(&path, &Device::Cpu)
            .map_err(|e| Fail::Fixture(format!("cannot read fixture {rel}: {e}; {}", fixtures::REMAKE)))?;
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
        let path = fixtures::verified_path(rel).map_err(Fail::Fixture)?;
        let text = std::fs::read_to_string(&path).map_err(|e| Fail::Fixture(format!("cannot read fixture {rel}: {e}")))?;
        serde_json::from_str(&text).map_err(|e| Fail::Fixture(format!("fixture {rel} is not valid JSON: {e}; {}", fixtures::REMAKE)))
    }
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
        let t = self.tensors.get(name).ok_or_else(|| {
            Fail::Fixture(format!("fixture {} has no tensor named {name:?}; {}", self.rel, fixtures::REMAKE))
        })?;
        Ok(t.to_device(&self.device)?)
    }

    /// A scalar stored as a 0-d or 1-element tensor, as usize (sizes, counts).
    pub fn usize(&self, name: &str) -> Result<usize, Fail> {
        let v = crate::compare::to_f64(&self.get(name)?)?;
        match v.as_slice() {
            [x] if *x >= 0.0 && x.fract() == 0.0 => Ok(*x as usize),
            _ => Err(Fail::Fixture(format!("fixture {} / {name}: expected one non-negative integer, found {v:?}", self.rel))),
        }
    }

    /// A scalar as f64.
    pub fn f64(&self, name: &str) -> Result<f64, Fail> {
        let v = crate::compare::to_f64(&self.get(name)?)?;
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
            map.insert(k.clone(), v.to_device(&self.device)?);
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
