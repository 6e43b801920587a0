//! End-to-end harness: real OpenBao, the Connect mock, plugin registration.
