use crate::registry::Exercise;
pub fn exercises() -> Vec<Exercise> { Vec::new() }
