//! Reading a login credential (a JWT, an AppRole secret id, a service-account token) from
//! where the settings say, at each login: files are read again every time because CI systems
//! and Kubernetes rotate them in place.

use std::io::Read;

use secrecy::{ExposeSecret, SecretString};
use vault_core::{Environment, Error, ErrorKind};
use zeroize::Zeroizing;

use crate::settings::CredentialSource;
use crate::PROVIDER_ID;

/// The most bytes a credential file may hold (a Kubernetes token is ~1 KB, a CI JWT ~2 KB).
pub(crate) const MAX_CREDENTIAL_BYTES: u64 = 64 * 1024;

fn err(kind: ErrorKind, message: String) -> Error {
    Error::new(kind, message).with_provider(PROVIDER_ID)
}

/// Reads the credential `what` (for messages: "the JWT", "the AppRole secret id") from
/// `source`, trimmed. A missing variable is [`ErrorKind::MissingEnv`], an unreadable, empty,
/// oversized or non-UTF-8 file [`ErrorKind::InvalidConfig`]; messages name the place, never
/// the content.
pub(crate) fn read(
    source: &CredentialSource,
    what: &str,
    env: &dyn Environment,
) -> Result<SecretString, Error> {
    match source {
        CredentialSource::Inline(v) => Ok(SecretString::from(v.clone())),
        CredentialSource::Env(name) => {
            let v = env.var(name).ok_or_else(|| {
                err(
                    ErrorKind::MissingEnv,
                    format!("{what}: the variable {name} is not set"),
                )
            })?;
            let trimmed = v.expose_secret().trim();
            if trimmed.is_empty() {
                return Err(err(
                    ErrorKind::MissingEnv,
                    format!("{what}: the variable {name} is empty"),
                ));
            }
            Ok(SecretString::from(trimmed.to_owned()))
        }
        CredentialSource::File(path) => {
            let shown = path.display();
            let file = std::fs::File::open(path).map_err(|e| {
                err(
                    ErrorKind::InvalidConfig,
                    format!("{what}: cannot read {shown}: {}", e.kind()),
                )
            })?;
            let mut bytes = Zeroizing::new(Vec::new());
            file.take(MAX_CREDENTIAL_BYTES + 1)
                .read_to_end(&mut bytes)
                .map_err(|e| {
                    err(
                        ErrorKind::InvalidConfig,
                        format!("{what}: cannot read {shown}: {}", e.kind()),
                    )
                })?;
            if bytes.len() as u64 > MAX_CREDENTIAL_BYTES {
                return Err(err(
                    ErrorKind::InvalidConfig,
                    format!("{what}: {shown} is larger than {MAX_CREDENTIAL_BYTES} bytes"),
                ));
            }
            let text = std::str::from_utf8(&bytes).map_err(|_| {
                err(
                    ErrorKind::InvalidConfig,
                    format!("{what}: {shown} is not UTF-8 text"),
                )
            })?;
            let trimmed = text.trim();
            if trimmed.is_empty() {
                return Err(err(
                    ErrorKind::InvalidConfig,
                    format!("{what}: {shown} is empty"),
                ));
            }
            Ok(SecretString::from(trimmed.to_owned()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vault_core::MapEnv;

    #[test]
    fn reads_files_and_variables_and_names_the_place_on_error() {
        let dir = std::env::temp_dir().join(format!("vh-cred-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("jwt");
        std::fs::write(&f, "  eyJ.secret.sig\n").unwrap();
        let env = MapEnv::new().with("J", "tok\n").with("E", " ");
        let v = read(&CredentialSource::File(f.clone()), "the JWT", &env).unwrap();
        assert_eq!(v.expose_secret(), "eyJ.secret.sig");
        let v = read(&CredentialSource::Env("J".into()), "the JWT", &env).unwrap();
        assert_eq!(v.expose_secret(), "tok");
        let e = read(&CredentialSource::Env("NOPE".into()), "the JWT", &env).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::MissingEnv);
        assert!(e.message().contains("NOPE"));
        let e = read(&CredentialSource::Env("E".into()), "the JWT", &env).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::MissingEnv);
        let e = read(&CredentialSource::File(dir.join("none")), "the JWT", &env).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidConfig);
        std::fs::write(&f, vec![b'a'; MAX_CREDENTIAL_BYTES as usize + 1]).unwrap();
        let e = read(&CredentialSource::File(f.clone()), "the JWT", &env).unwrap_err();
        assert!(e.message().contains("larger"), "{e}");
        let mut not_text = b"SECRET-CONTENT".to_vec();
        not_text.extend_from_slice(&[0xff, 0xfe]);
        std::fs::write(&f, not_text).unwrap();
        let e = read(&CredentialSource::File(f), "the JWT", &env).unwrap_err();
        assert!(e.message().contains("not UTF-8"), "{e}");
        assert!(!e.message().contains("SECRET"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
