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

/// `text` without what may be a credential: the user name and password (everything up to
/// the last `@`, wherever it is: a password may hold `/`, `?` or `#`), the query and the
/// fragment (each replaced by `…`), and without control characters; at most 200 characters.
/// When a `?` or `#` comes before that `@`, what follows it may be the query's rest as well
/// as the host (`https://h/?u=a@b&sig=…` or `https://u:p#w@h`): then only the scheme is kept.
///
/// ```
/// use vault_core::url_text::for_message;
/// assert_eq!(for_message("https://alice:hunter2@vault.example.com:8200/v1"), "https://…@vault.example.com:8200/v1");
/// assert_eq!(for_message("https://kv.example/secrets/x?sig=abc#f"), "https://kv.example/secrets/x?…");
/// assert_eq!(for_message("ftp://u:p@[::1"), "ftp://…@[::1");
/// assert_eq!(for_message("https://alice:pa#ss@vault.example.com"), "https://…");
/// ```
pub fn for_message(text: &str) -> String {
    let text = text.trim();
    // A scheme only where the text starts with one (`alice:pw@host?u=https://x` has none).
    let (scheme, rest) = match text.find("://") {
        Some(i) if is_scheme(&text[..i]) => text.split_at(i + 3),
        _ => ("", text),
    };
    // User info: everything up to the last `@`, even past a `/`, `?` or `#` (which a
    // password may hold; a URL that does not parse is the likeliest to be quoted).
    let (after_user, had_user) = match rest.rfind('@') {
        // `?`/`#` before the `@`: the rest may be query text (with a token) or the host.
        Some(i) if rest[..i].contains(['?', '#']) => return format!("{}…", clean(scheme)),
        Some(i) => (&rest[i + 1..], true),
        None => (rest, false),
    };
    // Query and fragment: may carry tokens (SAS signatures, `?token=`).
    let (shown, had_query) = match after_user.find(['?', '#']) {
        Some(i) => (&after_user[..i], true),
        None => (after_user, false),
    };
    let mut out = String::with_capacity(text.len().min(MAX_CHARS) + 8);
    out.push_str(scheme);
    if had_user {
        out.push_str("…@");
    }
    out.push_str(shown);
    if had_query {
        out.push_str("?…");
    }
    clean(&out)
}

/// Without control characters; at most [`MAX_CHARS`], then `…`.
fn clean(text: &str) -> String {
    let visible = text.chars().filter(|c| !c.is_control());
    let mut out: String = visible.clone().take(MAX_CHARS).collect();
    if visible.count() > MAX_CHARS {
        out.push('…');
    }
    out
}

/// RFC 3986 `scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )`.
fn is_scheme(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
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
            ("https://a:pw@h/p?q=pw@x", "https://…"),
            ("https://a:p#w@h", "https://…"),
            ("https://a:p?w@h/x", "https://…"),
            ("https://h/?u=a@b&t=pw", "https://…"),
            ("a:pw@h?u=https://x", "…@h?…"),
            ("a:pw@h/p", "…@h/p"),
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
