//! The BPMN reader on arbitrary text: a model is read or refused, never a panic.
#![no_main]
#![forbid(unsafe_code)]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(xml) = std::str::from_utf8(data) else { return };
    // With and without a server zone: a process without flowcal:timeZone
    // needs one for its deadlines.
    let _ = flowcal_bpmn::parse(xml, None);
    let _ = flowcal_bpmn::parse(xml, Some("Europe/Berlin"));
});
