//! A URL quoted in an error: never a panic, at most 201 visible characters, and nothing of a
//! credential survives:
//! - the output is the same whatever the password in the user info is (any scheme or none,
//!   a password holding `/`, `:` or `://`; one holding `?` or `#` leaves the scheme only);
//! - nothing after the first `?` (a query's token) appears in the output.
#![no_main]
use libfuzzer_sys::fuzz_target;
use vault_core::url_text::for_message;

fuzz_target!(|input: (&str, &str, &str, &str)| {
    let (scheme, user, password, after) = input;
    let shown = for_message(after);
    assert!(shown.chars().count() <= 201);
    assert!(!shown.chars().any(char::is_control));

    let with = |pw: &str| for_message(&format!("{scheme}://{user}:{pw}@{after}"));
    let neutral = if password.contains(['?', '#']) { "x?" } else { "x" };
    assert_eq!(with(password), with(neutral), "{scheme:?} {user:?} {password:?} {after:?}");

    // `scheme` as the text before a query, `password` as a token in it
    let token = password;
    if token.len() >= 3 && token.chars().all(|c| c.is_ascii_alphanumeric()) {
        let visible: String = scheme.chars().filter(|c| !c.is_control()).collect();
        if !visible.contains(token) {
            let text = format!("{scheme}?{user}{token}{after}");
            assert!(!for_message(&text).contains(token), "{text:?}");
        }
    }
});
