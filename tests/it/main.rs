//! The one integration-test binary: every test drives the tool over
//! loopback, with real AWS clients where it matters.

mod support;

mod aws_services;
mod conform;
mod conform_builtin;
mod conform_rules;
mod durability;
mod exact;
mod fuzz_regressions;
mod hardening;
mod hardening_mock;
mod hardening_record;
mod mock;
mod mock_bundles;
mod mock_components;
mod mock_deployments;
mod mock_workflows;
mod record;
mod replay;
mod security;
mod services;
