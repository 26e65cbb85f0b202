//! `multipart::find_field` on arbitrary bytes (boundary `b0`, and the one
//! the input's first line names), then the rewrites the gateway makes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchyard_protocol::multipart;

fuzz_target!(|body: &[u8]| {
    let first_line = body.split(|b| *b == b'\n').next().unwrap_or_default();
    let named = std::str::from_utf8(first_line)
        .ok()
        .and_then(multipart::boundary)
        .map(str::to_string);
    for boundary in std::iter::once("b0".to_string()).chain(named) {
        match multipart::find_field(body, &boundary, "model") {
            Ok(Some(r)) => {
                assert!(r.start <= r.end && r.end <= body.len());
                // A value spliced in is found where the old one was.
                let out = multipart::splice(body, r.clone(), b"mapped-model");
                assert_eq!(out.len(), body.len() - r.len() + 12);
                let again = multipart::find_field(&out, &boundary, "model")
                    .expect("the spliced form still parses")
                    .expect("and still has its model");
                assert_eq!(&out[again], b"mapped-model");
            }
            Ok(None) | Err(_) => {}
        }
        let out = multipart::prepend_field(body, &boundary, "model", "m");
        assert!(out.len() >= body.len());
    }
});
