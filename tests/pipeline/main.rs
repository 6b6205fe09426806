//! Integration tests: one binary, real SQLite files, real SMTP servers (aiosmtpd, OpenSMTPD), and the
//! `tocsin` executable itself where a process has to die.

mod accounts;
mod audiences;
mod cli;
mod console;
mod console_client;
mod console_review;
mod control;
mod drafts;
mod email;
mod failover;
mod fallback;
mod identities;
mod imports;
mod kannel;
mod lifecycle;
mod press_export;
mod press_feeds;
mod press_pages;
mod press_release;
mod providers;
mod receipts;
mod serve;
mod sms_providers;
mod smtp_answers;
mod step;
mod subscriptions;
mod support;
mod telegram;
mod telegram_api;
mod telegram_bot;
mod telegram_public;
