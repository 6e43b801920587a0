#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| op_connect_fuzz::entries::path_match(data));
