//! `json_key`: one field of a secret whose value is a JSON document.
//!
//! Any link may name a field with `json_key`: a top-level key (`password`), or a JSON pointer
//! (RFC 6901) when it starts with `/` (`/db/password`, `/hosts/0`; `~1` is `/` and `~0` is
//! `~` inside a token). Core strips the key from the link before the provider sees it, so the
//! cache holds the fetched document once per source and any number of fields of one secret
//! cost one fetch; the field is picked after the fetch (and after every cache hit).
//!
//! A string field renders as its text; any other field (number, boolean, null, object, array)
//! as its JSON text, as written in the document. The document is never copied while it is
//! searched (fields are borrowed slices of the fetched value, skipped fields are not decoded),
//! and the one decoded string is built in a buffer that is wiped if it has to be resized.
//! Errors name the field, never the value, and never repeat a JSON parser's message (it could
//! quote the value).

use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use zeroize::Zeroizing;

use crate::error::{Error, ErrorKind};

/// The link field that names a JSON field.
pub const JSON_KEY: &str = "json_key";

/// A parsed `json_key`.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct JsonKey {
    /// As written in the link, for messages.
    text: String,
    /// The tokens to follow from the document's top.
    path: Vec<String>,
}

impl fmt::Debug for JsonKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "JsonKey({:?})", self.text)
    }
}

impl JsonKey {
    /// Parses a `json_key` value: an [`ErrorKind::InvalidLink`] error when it is empty or a
    /// pointer with a bad `~` escape.
    pub(crate) fn parse(text: &str) -> Result<Self, Error> {
        if text.is_empty() {
            return Err(Error::new(
                ErrorKind::InvalidLink,
                "`json_key` is empty: give a top-level key or a JSON pointer such as `/db/password`",
            ));
        }
        let path = match text.strip_prefix('/') {
            None => vec![text.to_owned()],
            Some(rest) => rest
                .split('/')
                .map(|token| unescape_token(token, text))
                .collect::<Result<_, _>>()?,
        };
        Ok(JsonKey {
            text: text.to_owned(),
            path,
        })
    }

    /// The field of `value` this key names.
    pub(crate) fn extract(&self, value: &SecretString) -> Result<SecretString, Error> {
        let doc: &RawValue = serde_json::from_str(value.expose_secret()).map_err(|_| {
            Error::new(
                ErrorKind::Unavailable,
                format!(
                    "`json_key = \"{}\"`: the secret's value is not a JSON document",
                    self.text
                ),
            )
        })?;
        let mut current = doc;
        for (depth, token) in self.path.iter().enumerate() {
            current = step(current, token).ok_or_else(|| {
                let at = if depth == 0 {
                    "the document".to_owned()
                } else {
                    format!("`/{}`", self.path[..depth].join("/"))
                };
                Error::new(
                    ErrorKind::NotFound,
                    format!(
                        "`json_key = \"{}\"`: {at} has no field `{token}`",
                        self.text
                    ),
                )
            })?;
        }
        render(current.get().trim()).ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidResponse,
                format!(
                    "`json_key = \"{}\"`: the field is not valid JSON",
                    self.text
                ),
            )
        })
    }
}

/// One RFC 6901 reference token: `~1` is `/`, `~0` is `~`, any other `~` is an error.
fn unescape_token(token: &str, whole: &str) -> Result<String, Error> {
    let mut out = String::with_capacity(token.len());
    let mut chars = token.chars();
    while let Some(c) = chars.next() {
        if c != '~' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('0') => out.push('~'),
            Some('1') => out.push('/'),
            _ => {
                return Err(Error::new(
                    ErrorKind::InvalidLink,
                    format!(
                    "`json_key = \"{whole}\"`: `~` must be followed by 0 or 1 in a JSON pointer"
                ),
                ))
            }
        }
    }
    Ok(out)
}

/// The member `token` of an object, or the element at index `token` of an array.
fn step<'a>(value: &'a RawValue, token: &str) -> Option<&'a RawValue> {
    let text = value.get().trim_start();
    let mut de = serde_json::Deserializer::from_str(text);
    match text.as_bytes().first()? {
        b'{' => de.deserialize_map(FindKey(token)).ok().flatten(),
        b'[' => {
            // RFC 6901: digits without a leading zero (`-`, the end, names no element).
            let index: usize = if token == "0" || (!token.starts_with('0') && !token.is_empty()) {
                token
                    .bytes()
                    .all(|b| b.is_ascii_digit())
                    .then(|| token.parse().ok())??
            } else {
                return None;
            };
            de.deserialize_seq(FindIndex(index)).ok().flatten()
        }
        _ => None,
    }
}

/// Finds one member of an object without decoding the others.
struct FindKey<'k>(&'k str);

impl<'de> Visitor<'de> for FindKey<'_> {
    type Value = Option<&'de RawValue>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        while let Some(is_it) = map.next_key_seed(KeyIs(self.0))? {
            if is_it {
                // Duplicate keys: the last one wins, as in most parsers.
                found = Some(map.next_value::<&RawValue>()?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

/// Compares a key with the wanted one, without keeping it.
struct KeyIs<'k>(&'k str);

impl<'de> DeserializeSeed<'de> for KeyIs<'_> {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for KeyIs<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<bool, E> {
        Ok(v == self.0)
    }
}

/// Finds one element of an array without decoding the others.
struct FindIndex(usize);

impl<'de> Visitor<'de> for FindIndex {
    type Value = Option<&'de RawValue>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        let mut i = 0;
        loop {
            if i == self.0 {
                match seq.next_element::<&RawValue>()? {
                    Some(v) => found = Some(v),
                    None => break,
                }
            } else if seq.next_element::<IgnoredAny>()?.is_none() {
                break;
            }
            i += 1;
        }
        Ok(found)
    }
}

/// A field as its value: a string's text, or any other JSON value's text as written.
fn render(raw: &str) -> Option<SecretString> {
    let Some(inner) = raw.strip_prefix('"') else {
        return Some(SecretString::from(raw));
    };
    let inner = inner.strip_suffix('"')?;
    if !inner.contains('\\') {
        return Some(SecretString::from(inner));
    }
    let decoded = Zeroizing::new(unescape_string(inner)?);
    // Copied into an exactly sized box; the working buffer is wiped on drop.
    Some(SecretString::from(decoded.as_str()))
}

/// Decodes the escapes of a JSON string's content (already validated by the parser).
fn unescape_string(s: &str) -> Option<String> {
    let mut out = Zeroizing::new(String::with_capacity(s.len()));
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next()? {
            '"' => out.push('"'),
            '\\' => out.push('\\'),
            '/' => out.push('/'),
            'b' => out.push('\u{8}'),
            'f' => out.push('\u{c}'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'u' => {
                let hi = hex4(&mut chars)?;
                let code = if (0xD800..0xDC00).contains(&hi) {
                    if chars.next()? != '\\' || chars.next()? != 'u' {
                        return None;
                    }
                    let lo = hex4(&mut chars)?;
                    if !(0xDC00..0xE000).contains(&lo) {
                        return None;
                    }
                    0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                } else {
                    hi
                };
                out.push(char::from_u32(code)?);
            }
            _ => return None,
        }
    }
    Some(std::mem::take(&mut *out))
}

fn hex4(chars: &mut std::str::Chars<'_>) -> Option<u32> {
    let mut v = 0;
    for _ in 0..4 {
        v = v * 16 + chars.next()?.to_digit(16)?;
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(doc: &str, key: &str) -> Result<String, Error> {
        JsonKey::parse(key)?
            .extract(&SecretString::from(doc))
            .map(|v| v.expose_secret().to_owned())
    }

    #[test]
    fn top_level_keys_and_pointers() {
        let doc = r#"{"username":"admin","password":"p\"w\u00e9\ud83d\ude00","port":5432,
            "tls":true,"none":null,"db":{"password":"inner","a/b":1,"m~n":2},
            "hosts":["h0",{"x":[1, 2]}], "/slash": "top"}"#;
        assert_eq!(get(doc, "username").unwrap(), "admin");
        assert_eq!(get(doc, "password").unwrap(), "p\"wé😀");
        assert_eq!(get(doc, "port").unwrap(), "5432");
        assert_eq!(get(doc, "tls").unwrap(), "true");
        assert_eq!(get(doc, "none").unwrap(), "null");
        assert_eq!(get(doc, "/db/password").unwrap(), "inner");
        assert_eq!(get(doc, "/db/a~1b").unwrap(), "1");
        assert_eq!(get(doc, "/db/m~0n").unwrap(), "2");
        assert_eq!(get(doc, "/hosts/0").unwrap(), "h0");
        assert_eq!(get(doc, "/hosts/1/x").unwrap(), "[1, 2]");
        assert_eq!(get(doc, "/hosts/1/x/1").unwrap(), "2");
        assert_eq!(get(doc, "/~1slash").unwrap(), "top");
        assert_eq!(
            get(doc, "db").unwrap(),
            r#"{"password":"inner","a/b":1,"m~n":2}"#
        );
        // A top-level key may contain `/` when it does not start with one.
        assert_eq!(get(r#"{"a/b":"x"}"#, "a/b").unwrap(), "x");
    }

    #[test]
    fn missing_fields_name_the_field_never_the_value() {
        let doc = r#"{"password":"hunter2-canary","list":["hunter2-canary"]}"#;
        for key in [
            "user",
            "/password/x",
            "/list/1",
            "/list/01",
            "/list/-",
            "/nope/x",
        ] {
            let e = get(doc, key).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::NotFound, "{key}");
            assert!(e.to_string().contains(key), "{e}");
            assert!(!e.to_string().contains("hunter2"), "{e}");
        }
    }

    #[test]
    fn a_value_that_is_not_json_is_reported_without_the_value() {
        for doc in ["hunter2-canary", "{\"a\": hunter2-canary}", "", "\"str\" x"] {
            let e = get(doc, "password").unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Unavailable);
            assert!(e.to_string().contains("password"), "{e}");
            assert!(!e.to_string().contains("hunter2"), "{e}");
        }
        // A JSON document that is not an object has no fields.
        for doc in ["\"hunter2-canary\"", "42", "[1]"] {
            let e = get(doc, "password").unwrap_err();
            assert_eq!(e.kind(), ErrorKind::NotFound, "{doc}");
            assert!(!e.to_string().contains("hunter2"), "{e}");
        }
    }

    #[test]
    fn bad_keys_are_invalid_links() {
        for key in ["", "/a~2", "/a~"] {
            assert_eq!(
                JsonKey::parse(key).unwrap_err().kind(),
                ErrorKind::InvalidLink,
                "{key}"
            );
        }
        assert!(format!("{:?}", JsonKey::parse("/a").unwrap()).contains("/a"));
    }

    #[test]
    fn duplicate_keys_last_wins() {
        assert_eq!(get(r#"{"a":"1","a":"2"}"#, "a").unwrap(), "2");
    }
}
