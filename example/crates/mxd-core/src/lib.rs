//! Pure logic of the `mxd` example homeserver.
//!
//! Everything here is free of sockets, threads and files so it can be unit
//! tested directly; the `mxd` binary only wires these pieces to the network.
//! The crate uses nothing but `std` because the build environment has no
//! access to crates.io.

pub mod config;
pub mod cpu;
pub mod features;
pub mod http;
pub mod json;
pub mod router;
pub mod settings;
