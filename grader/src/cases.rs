//! Fixture cases: the common shape of "run the learner's function on every case PyTorch
//! computed and compare". A fixture script (through `common.Cases` in `fixtures/gen`) stores
//! case `k` of exercise `name` as tensors `name.k.<arg>` (inputs) and `name.k.out` (the
//! expected output).

use crate::check::{CheckResult, Ctx, Fail, Fixture};
use crate::compare::Tol;
use candle_core::{DType, Tensor};
use std::rc::Rc;

/// One fixture case: tensors `name.k.*` of one fixture file.
pub struct Case {
    pub name: &'static str,
    pub k: usize,
    pub fx: Rc<Fixture>,
}

impl Case {
    pub fn key(&self, arg: &str) -> String {
        format!("{}.{}.{}", self.name, self.k, arg)
    }
    /// An input tensor, on the check's device.
    pub fn t(&self, arg: &str) -> Result<Tensor, Fail> {
        self.fx.get(&self.key(arg))
    }
    /// An optional input (a case without a bias has no `bias`).
    pub fn opt(&self, arg: &str) -> Result<Option<Tensor>, Fail> {
        if self.fx.has(&self.key(arg)) {
            Ok(Some(self.t(arg)?))
        } else {
            Ok(None)
        }
    }
    /// A non-negative integer argument.
    pub fn n(&self, arg: &str) -> Result<usize, Fail> {
        self.fx.usize(&self.key(arg))
    }
    /// Every value of an argument, read on the host (shapes, axis lists: possibly empty).
    pub fn values(&self, arg: &str) -> Result<Vec<f64>, Fail> {
        self.fx.values(&self.key(arg))
    }
    /// A float argument.
    pub fn f(&self, arg: &str) -> Result<f64, Fail> {
        self.fx.f64(&self.key(arg))
    }
    /// A small vector of non-negative integers (a pair such as a stride, or four pads).
    pub fn ints(&self, arg: &str, len: usize) -> Result<Vec<usize>, Fail> {
        let v = self.fx.values(&self.key(arg))?;
        if v.len() != len || v.iter().any(|x| *x < 0.0 || x.fract() != 0.0) {
            return Err(Fail::Fixture(format!("fixture {} / {}: expected {len} non-negative integers, found {v:?}", self.fx.rel(), self.key(arg))));
        }
        Ok(v.into_iter().map(|x| x as usize).collect())
    }
    pub fn pair(&self, arg: &str) -> Result<(usize, usize), Fail> {
        let v = self.ints(arg, 2)?;
        Ok((v[0], v[1]))
    }
    /// The expected output.
    pub fn out(&self) -> Result<Tensor, Fail> {
        self.t("out")
    }
    /// `name(arg=3, x: [2, 4]) [fixture case k]`, for reports.
    pub fn label(&self) -> String {
        let args: Vec<String> = self
            .fx
            .names_with_prefix(&format!("{}.{}.", self.name, self.k))
            .iter()
            .filter(|n| !n.ends_with(".out"))
            .filter_map(|n| self.fx.host(n).ok().map(|t| (n.rsplit('.').next().unwrap_or("").to_string(), t)))
            .map(|(arg, t)| match t.rank() {
                0 => format!("{arg}={}", scalar_text(&t)),
                1 if t.dtype() == DType::I64 && t.elem_count() <= 4 => format!("{arg}={:?}", t.to_vec1::<i64>().unwrap_or_default()),
                _ => format!("{arg}: {:?}", t.dims()),
            })
            .collect();
        format!("{}({}) [fixture case {}]", self.name, args.join(", "), self.k)
    }
}

fn scalar_text(t: &Tensor) -> String {
    match t.to_dtype(DType::F64).and_then(|t| t.to_scalar::<f64>()) {
        Ok(v) => format!("{v}"),
        Err(_) => "?".into(),
    }
}

/// A fixture file of cases, declared once at the top of a suite:
/// `const FX: FixtureFile = FixtureFile::new("week1/arrays.safetensors");`, then
/// `FX.vs_torch(ctx, "cumsum", Tol::F32, |c| ...)`, `FX.cases(ctx, "conv2d")` or `FX.open(ctx)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FixtureFile(&'static str);

impl FixtureFile {
    pub const fn new(rel: &'static str) -> FixtureFile {
        FixtureFile(rel)
    }
    /// The file, relative to `fixtures/`.
    pub fn rel(self) -> &'static str {
        self.0
    }
    /// The whole file (verified against the manifest, loaded once per process).
    pub fn open(self, ctx: &Ctx) -> Result<Rc<Fixture>, Fail> {
        ctx.fixture(self.0)
    }
    /// Every case of exercise `name` (an error when there is none).
    pub fn cases(self, ctx: &Ctx, name: &'static str) -> Result<Vec<Case>, Fail> {
        let fx = self.open(ctx)?;
        let n = fx.names_with_prefix(&format!("{name}.")).iter().filter(|k| k.ends_with(".out")).count();
        if n == 0 {
            return Err(Fail::Fixture(format!("{} has no cases for {name}; {}", self.0, crate::fixtures::REMAKE)));
        }
        Ok((0..n).map(|k| Case { name, k, fx: fx.clone() }).collect())
    }
    /// Run the learner's function on every case of `name` and compare with PyTorch's output.
    pub fn vs_torch(self, ctx: &Ctx, name: &'static str, tol: Tol, f: impl Fn(&Case) -> Result<Tensor, Fail>) -> CheckResult {
        self.vs_torch_with(ctx, name, tol, f, |_, _| Ok(Vec::new()))
    }

    /// `vs_torch` with the likely mistakes of each case (`near_misses(case, expected)`), which a
    /// mismatch names when the learner's output equals one of them.
    pub fn vs_torch_with(
        self,
        ctx: &Ctx,
        name: &'static str,
        tol: Tol,
        f: impl Fn(&Case) -> Result<Tensor, Fail>,
        near_misses: impl Fn(&Case, &Tensor) -> Result<Vec<crate::compare::Candidate<'static>>, Fail>,
    ) -> CheckResult {
        for case in self.cases(ctx, name)? {
            // An error from the learner's function names its input case, as a mismatch does.
            let got = f(&case).map_err(|e| match e {
                Fail::LearnerError(m) => Fail::LearnerError(format!("{}: {m}", case.label())),
                other => other,
            })?;
            let want = case.out()?;
            let misses = near_misses(&case, &want)?;
            crate::compare::close_with(&case.label(), &got, &want, tol, &misses)?;
        }
        Ok(())
    }
}

impl std::fmt::Display for FixtureFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Learner;

    /// An `Err` from the learner's function is labelled with the input case it failed on.
    #[test]
    fn a_learner_error_names_its_case() {
        let ctx = Ctx::new(candle_core::Device::Cpu, false);
        let r = FixtureFile::new("week1/arrays.safetensors")
            .vs_torch(&ctx, "cumsum", Tol::F32, |_| Err::<Tensor, _>(candle_core::Error::Msg("boom".into())).learner());
        match r {
            Err(Fail::LearnerError(m)) => assert!(m.starts_with("cumsum(") && m.contains("[fixture case 0]") && m.contains("boom"), "{m}"),
            other => panic!("{other:?}"),
        }
    }
}
