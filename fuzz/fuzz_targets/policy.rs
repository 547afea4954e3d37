//! The policy parser: any text is a policy or an error naming what is wrong, never a panic;
//! a policy it accepts is internally consistent (its own validation held).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(policy) = domain::Policy::from_toml(text) {
        // What was accepted reads back the same.
        let again = domain::Policy::from_toml(text).expect("an accepted policy is accepted again");
        assert_eq!(policy.version, again.version);
    }
});
