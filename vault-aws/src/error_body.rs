//! AWS error answers, in the shapes they come in: the JSON of JSON-protocol services
//! (`{"__type": "...#ResourceNotFoundException", "message": "..."}`, also named by the
//! `X-Amzn-ErrorType` header) and the XML of query services and of auth failures
//! (`<ErrorResponse><Error><Code>...` or `...<Errors><Error><Code>...`; moto answers auth
//! failures in XML even for Secrets Manager).

use quick_xml::events::Event;
use quick_xml::Reader;

/// The code and message of an AWS error answer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ErrorBody {
    /// The error code without namespace (`ResourceNotFoundException`, `AccessDenied`).
    pub code: Option<String>,
    /// The service's message, if any.
    pub message: Option<String>,
}

impl ErrorBody {
    /// Parses an error answer. `error_type` is the `X-Amzn-ErrorType` header, if present; it
    /// names the code when the body does not.
    pub fn parse(body: &[u8], error_type: Option<&str>) -> ErrorBody {
        let mut parsed = parse_json(body)
            .or_else(|| parse_xml(body))
            .unwrap_or_default();
        if parsed.code.is_none() {
            parsed.code = error_type.map(clean_code).filter(|c| !c.is_empty());
        }
        parsed
    }
}

/// `aws.protocoltests#FooError:http://internal...` → `FooError`.
fn clean_code(raw: &str) -> String {
    let no_suffix = raw.split(':').next().unwrap_or(raw);
    no_suffix
        .rsplit('#')
        .next()
        .unwrap_or(no_suffix)
        .trim()
        .to_owned()
}

fn parse_json(body: &[u8]) -> Option<ErrorBody> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let obj = v.as_object()?;
    let text = |keys: &[&str]| {
        keys.iter()
            .find_map(|k| obj.get(*k).and_then(|v| v.as_str()))
            .map(str::to_owned)
    };
    let code = text(&["__type", "code", "Code"]).map(|c| clean_code(&c));
    let message = text(&["message", "Message", "errorMessage"]);
    (code.is_some() || message.is_some()).then_some(ErrorBody { code, message })
}

fn parse_xml(body: &[u8]) -> Option<ErrorBody> {
    let mut reader = Reader::from_reader(body);
    let mut out = ErrorBody::default();
    let mut current: Option<Vec<u8>> = None;
    let mut buf = Vec::new();
    loop {
        match reader.read_event_into(&mut buf) {
            Ok(Event::Start(e)) => current = Some(e.local_name().as_ref().to_vec()),
            Ok(Event::Text(t)) => {
                let text = t.unescape().ok()?.trim().to_owned();
                match current.as_deref() {
                    Some(b"Code") if out.code.is_none() => out.code = Some(clean_code(&text)),
                    Some(b"Message") if out.message.is_none() => out.message = Some(text),
                    _ => {}
                }
            }
            Ok(Event::End(_)) => current = None,
            Ok(Event::Eof) => break,
            Err(_) => return None,
            Ok(_) => {}
        }
        buf.clear();
    }
    (out.code.is_some() || out.message.is_some()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_bodies() {
        let b = ErrorBody::parse(
            br#"{"__type":"ResourceNotFoundException","message":"Secrets Manager can't find the specified secret."}"#,
            None,
        );
        assert_eq!(b.code.as_deref(), Some("ResourceNotFoundException"));
        assert!(b.message.unwrap().contains("can't find"));
        let b = ErrorBody::parse(
            br#"{"__type":"com.amazonaws.secretsmanager#DecryptionFailure","Message":"KMS"}"#,
            None,
        );
        assert_eq!(b.code.as_deref(), Some("DecryptionFailure"));
        assert_eq!(b.message.as_deref(), Some("KMS"));
    }

    #[test]
    fn header_names_the_code_when_the_body_does_not() {
        let b = ErrorBody::parse(
            b"",
            Some("ThrottlingException:http://internal.amazon.com/coral/com.amazon.coral.availability/"),
        );
        assert_eq!(b.code.as_deref(), Some("ThrottlingException"));
        assert_eq!(b.message, None);
    }

    #[test]
    fn xml_bodies_both_shapes() {
        let moto = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ErrorResponse><Errors><Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match</Message><Type>Sender</Type></Error></Errors><RequestId>x</RequestId></ErrorResponse>";
        let b = ErrorBody::parse(moto, None);
        assert_eq!(b.code.as_deref(), Some("SignatureDoesNotMatch"));
        assert!(b.message.unwrap().starts_with("The request signature"));
        let sts = br#"<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <Error><Type>Sender</Type><Code>AccessDenied</Code><Message>not authorized &amp; so on</Message></Error>
  <RequestId>abc</RequestId></ErrorResponse>"#;
        let b = ErrorBody::parse(sts, None);
        assert_eq!(b.code.as_deref(), Some("AccessDenied"));
        assert_eq!(b.message.as_deref(), Some("not authorized & so on"));
    }

    #[test]
    fn garbage_gives_nothing() {
        assert_eq!(ErrorBody::parse(b"<html>oops", None), ErrorBody::default());
        assert_eq!(ErrorBody::parse(b"[1,2]", None), ErrorBody::default());
    }
}
