//! The reference parser: any text parses (malformed references are reported, never a panic),
//! and the segments cover the text in order.
#![no_main]
use libfuzzer_sys::fuzz_target;
use vault_core::{Segment, Template};

fuzz_target!(|text: &str| {
    let t = Template::parse(text);
    let mut literal_len = 0usize;
    for seg in t.segments() {
        match seg {
            Segment::Text(s) => literal_len += s.len(),
            Segment::Reference(r) => {
                assert!(vault_core::template::is_valid_name(r.name()));
                assert!(text.contains(r.name()));
            }
        }
    }
    assert!(literal_len <= text.len());
    for e in t.errors() {
        assert!(e.position() <= text.len());
    }
});
