//! Go templates, both dialects: parsing and rendering never panic or hang.
#![no_main]
use gatehouse_gotmpl::Template;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(source) = std::str::from_utf8(data) else {
        return;
    };
    let data = serde_json::json!({
        "subject": "alice",
        "extra": {"email": "a@b", "groups": ["x", "y"], "n": 3, "f": 1.5, "ok": true, "nil": null},
        "header": {"X-Id": ["1"]},
    });
    for parsed in [
        Template::parse("t", source),
        Template::parse_oathkeeper("t", source),
    ] {
        if let Ok(t) = parsed {
            let _ = t.render(&data);
        }
    }
});
