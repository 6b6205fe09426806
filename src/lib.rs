//! Tocsin: one trilingual crisis update, rendered for every recipient and channel,
//! dispatched and tracked until it is confirmed or known to have failed.

pub mod accounts;
pub mod app;
pub mod author;
pub mod bot;
pub mod channels;
pub mod check;
pub mod clock;
pub mod config;
pub mod demo;
pub mod dispatch;
pub mod domain;
pub mod fallback;
pub mod group_commit;
pub mod import;
pub mod plan;
pub mod playbooks;
pub mod press;
pub mod render;
pub mod report;
pub mod spreadsheet;
pub mod store;
pub mod web;
