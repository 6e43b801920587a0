//! Starting the servers a test talks to.

pub mod process;
