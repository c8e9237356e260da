//! End-to-end tests: each starts the real `chibo` binary on port 0 and talks to it over gRPC,
//! or runs its commands on real data directories.

mod browser;
mod harness;
mod keys;

mod audit;
mod audit_export;
mod auth;
mod bundle_verify;
mod crash;
mod demo;
mod kurrentdb;
mod ledger;
mod limits;
mod provenance;
mod reports;
mod rules;
mod tamper;
mod tls;
mod walkthrough;
mod web;
