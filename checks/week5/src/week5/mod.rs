//! Week 5: interpretability and robustness. One file per day.

use crate::registry::Exercise;

pub mod active_learning;
pub mod adversarial;
pub mod attribution;
pub mod explain;
pub mod feature_vis;
pub mod hooks;
pub mod memorisation;
pub mod probes;
pub mod sae;
pub mod steering;
pub mod superposition;

pub fn exercises() -> Vec<Exercise> {
    let mut v = Vec::new();
    v.extend(attribution::exercises());
    v.extend(explain::exercises());
    v.extend(hooks::exercises());
    v.extend(probes::exercises());
    v.extend(steering::exercises());
    v.extend(superposition::exercises());
    v.extend(sae::exercises());
    v.extend(adversarial::exercises());
    v.extend(active_learning::exercises());
    v.extend(feature_vis::exercises());
    v.extend(memorisation::exercises());
    v
}

pub fn benches() -> Vec<crate::bench::Bench> {
    attribution::benches()
}
