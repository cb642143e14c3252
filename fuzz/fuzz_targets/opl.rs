//! An OPL file: parsing never panics, and every error points inside the source.
#![no_main]
use gatehouse_permissions::opl;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(source) = std::str::from_utf8(data) else {
        return;
    };
    let lines = source.split('\n').count();
    if let Err(errors) = opl::parse(source) {
        assert!(!errors.is_empty());
        for e in &errors {
            assert!(
                (1..=lines).contains(&e.line),
                "line {} of {lines}: {e:?}",
                e.line
            );
            assert!(e.column >= 1, "{e:?}");
            serde_json::to_string(e).expect("an error serializes");
        }
    }
    serde_json::to_string(&opl::check_syntax(source)).expect("the answer serializes");
});
