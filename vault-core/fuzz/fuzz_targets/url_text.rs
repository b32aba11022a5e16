//! A URL quoted in an error: never a panic, never its password, at most 201 characters.
#![no_main]
use libfuzzer_sys::fuzz_target;
use vault_core::url_text::for_message;

fuzz_target!(|input: (&str, &str, &str)| {
    let (password, before, after) = input;
    let shown = for_message(before);
    assert!(shown.chars().count() <= 201);
    assert!(!shown.chars().any(char::is_control));
    // A password placed in the user info of any URL-ish text does not survive, unless the
    // text around it (or what the function writes itself) repeats it.
    let visible = |s: &str| s.chars().filter(|c| !c.is_control()).collect::<String>();
    if password.len() >= 4
        && !"https://…@?…".contains(password)
        && !password.contains(['@', '?', '#'])
        && !password.chars().any(char::is_control)
        && !visible(before).contains(password)
        && !visible(after).contains(password)
        && !before.contains(['@', '?', '#'])
    {
        let text = format!("https://{before}:{password}@{after}");
        assert!(!for_message(&text).contains(password), "{text:?}");
    }
});
