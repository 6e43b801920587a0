//! The path framework: routes, fields, requests, responses and errors.
pub mod backend;
pub mod error;
pub mod field;
pub mod path;
pub mod request;
pub mod response;
