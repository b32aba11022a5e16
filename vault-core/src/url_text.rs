//! A URL as the user wrote it, made fit for an error message.
//!
//! Endpoints come from config files and variables (`address`, `endpoint_url`, `VAULT_ADDR`,
//! `AWS_ENDPOINT_URL`, ...), and people paste URLs that carry a password
//! (`https://alice:hunter2@vault.example.com`) or a token in the query (`?sig=…`). Every
//! parser in this workspace refuses such URLs, and the error that says so must not repeat
//! the password: [`for_message`] is what an error quotes instead of the raw text. It works on
//! text that is not a valid URL too (the text that failed to parse is the likeliest to be
//! quoted).

/// How much of a URL an error quotes at most, in characters.
const MAX_CHARS: usize = 200;

/// `text` without what may be a credential: the user name and password (everything up to the
/// last `@` before the path's query or fragment), the query and the fragment (each replaced
/// by `…`), and without control characters; at most 200 characters.
///
/// ```
/// use vault_core::url_text::for_message;
/// assert_eq!(for_message("https://alice:hunter2@vault.example.com:8200/v1"), "https://…@vault.example.com:8200/v1");
/// assert_eq!(for_message("https://kv.example/secrets/x?sig=abc#f"), "https://kv.example/secrets/x?…");
/// assert_eq!(for_message("ftp://u:p@[::1"), "ftp://…@[::1");
/// ```
pub fn for_message(text: &str) -> String {
    let text = text.trim();
    let (scheme, rest) = match text.find("://") {
        Some(i) => text.split_at(i + 3),
        None => ("", text),
    };
    // Query and fragment: may carry tokens (SAS signatures, `?token=`).
    let (before_query, had_query) = match rest.find(['?', '#']) {
        Some(i) => (&rest[..i], true),
        None => (rest, false),
    };
    // User info: a password may itself contain `/` or `:`, so everything up to the last `@`
    // goes, wherever the authority would end.
    let (after_user, had_user) = match before_query.rfind('@') {
        Some(i) => (&before_query[i + 1..], true),
        None => (before_query, false),
    };
    let mut out = String::with_capacity(text.len().min(MAX_CHARS) + 8);
    out.push_str(scheme);
    if had_user {
        out.push_str("…@");
    }
    out.push_str(after_user);
    if had_query {
        out.push_str("?…");
    }
    let mut clean: String = out
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_CHARS)
        .collect();
    if out.chars().filter(|c| !c.is_control()).count() > MAX_CHARS {
        clean.push('…');
    }
    clean
}

#[cfg(test)]
mod tests {
    use super::for_message;

    #[test]
    fn credentials_never_survive() {
        for (text, expected) in [
            (
                "https://vault.example.com:8200",
                "https://vault.example.com:8200",
            ),
            ("https://a:pw@h/x", "https://…@h/x"),
            ("https://a:p/w@h/x", "https://…@h/x"),
            ("https://a:p@w@h", "https://…@h"),
            ("a:pw@h", "…@h"),
            ("https://h/p?token=pw", "https://h/p?…"),
            ("https://h/p#pw", "https://h/p?…"),
            ("https://a:pw@h/p?q=pw@x", "https://…@h/p?…"),
            ("  https://h\n/\tx  ", "https://h/x"),
            ("", ""),
            ("@", "…@"),
            ("://", "://"),
        ] {
            assert_eq!(for_message(text), expected, "{text:?}");
            if text.contains("pw") {
                assert!(!for_message(text).contains("pw"), "{text:?}");
            }
        }
    }

    #[test]
    fn long_text_is_capped_on_a_char_boundary() {
        let long = format!("https://{}", "é".repeat(500));
        let m = for_message(&long);
        assert_eq!(m.chars().count(), 201);
        assert!(m.ends_with('…'));
    }
}
