//! The CalDAV multistatus parser on arbitrary answers: parsed or refused, never a panic.
#![no_main]
#![forbid(unsafe_code)]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(xml) = std::str::from_utf8(data) else { return };
    let _ = flowcal_calendar::caldav::parse_multistatus(xml);
});
