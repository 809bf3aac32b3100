//! `make demo`: the appflow-retry service on this machine, on emulators.
//! See [`sim`] for what is real and what is emulated.

pub mod scenario;
pub mod sim;
