//! `tocsin demo`: the whole pipeline on a synthetic hospital day, in a fresh directory.

mod run;
pub mod synthetic;

pub use run::run;
