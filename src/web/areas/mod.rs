//! The areas of `tocsin serve`'s HTTP side, each a module exposing its `router()`.

pub mod console;
pub mod press;
pub mod receipts;
pub mod telegram;
