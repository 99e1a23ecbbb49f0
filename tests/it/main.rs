//! The one integration-test binary: every test drives the tool over
//! loopback, with real AWS clients where it matters.

mod support;

mod conform;
mod conform_builtin;
mod conform_rules;
mod fuzz_regressions;
mod hardening;
mod hardening_mock;
mod hardening_record;
mod mock;
mod mock_bundles;
mod mock_components;
mod mock_deployments;
mod record;
mod replay;
mod security;
mod services;
