//! Tocsin: one trilingual crisis update, rendered for every recipient and channel,
//! dispatched and tracked until it is confirmed or known to have failed.

pub mod config;
pub mod domain;
pub mod render;
pub mod store;
