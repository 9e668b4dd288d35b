//! The backfill on one machine: the worker fleet as local processes (the `Fleet` port that ECS
//! implements on AWS), supervised with signals, process sessions and file locks; and the local
//! CLI backend (`LocalControl`), the control plane's own handlers wired to the local harness
//! (DynamoDB Local, moto) and that fleet.
//!
//! Depends on the domain crate (its ports), the adapters it wires (AWS, OpenSearch) and `libc`;
//! the domain never depends on this.

mod fleet;
mod setup;

pub use fleet::LocalFleet;
pub use setup::{LocalControl, LocalSetup, SetupError, SETUP_FILE};
