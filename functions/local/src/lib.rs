//! The backfill on one machine: the worker fleet as local processes (the `Fleet` port that ECS
//! implements on AWS), supervised with signals, process sessions and file locks.
//!
//! Depends on the domain crate (its ports) and on `libc`; the domain never depends on this.

mod fleet;

pub use fleet::LocalFleet;
