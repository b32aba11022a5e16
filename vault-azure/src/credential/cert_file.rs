//! The certificate of a service principal: an RSA private key and its X.509 certificate,
//! from a PEM file (`CERTIFICATE` + `PRIVATE KEY` or `RSA PRIVATE KEY`) or a PKCS#12 file
//! (`.pfx`/`.p12`, with a password or none), as `AZURE_CLIENT_CERTIFICATE_PATH` names it.
//!
//! Which one is decided by the content, as the Azure SDKs do: text starting with
//! `-----BEGIN` is PEM, anything else is PKCS#12. Encrypted PEM keys are not read (use
//! PKCS#12 with `AZURE_CLIENT_CERTIFICATE_PASSWORD`); only RSA keys sign (Entra's
//! certificate credentials are RSA). The key stays in zeroizing memory and is never shown.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use secrecy::SecretString;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// The `rsaEncryption` algorithm identifier (1.2.840.113549.1.1.1), DER-encoded.
const RSA_OID: &[u8] = &[
    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01,
];

/// An RSA key (PKCS#1 DER) and the DER of its certificate.
pub(crate) struct CertificateKey {
    pkcs1: Zeroizing<Vec<u8>>,
    cert_der: Vec<u8>,
}

impl std::fmt::Debug for CertificateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertificateKey")
            .field("x5t#S256", &self.thumbprint_s256())
            .finish_non_exhaustive()
    }
}

impl CertificateKey {
    /// Reads PEM or PKCS#12 bytes. Errors say what is wrong, never what the file holds.
    pub(crate) fn parse(bytes: &[u8], password: Option<&SecretString>) -> Result<Self, String> {
        let text_start = bytes
            .iter()
            .position(|b| !b.is_ascii_whitespace())
            .map_or(&[][..], |i| &bytes[i..]);
        if text_start.starts_with(b"-----BEGIN") {
            Self::from_pem(bytes)
        } else {
            Self::from_pkcs12(bytes, password)
        }
    }

    fn from_pem(bytes: &[u8]) -> Result<Self, String> {
        let text = std::str::from_utf8(bytes).map_err(|_| "the PEM file is not text".to_owned())?;
        let mut cert_der = None;
        let mut key = None;
        for (label, der) in pem_blocks(text)? {
            match label.as_str() {
                "CERTIFICATE" if cert_der.is_none() => cert_der = Some(der.to_vec()),
                "CERTIFICATE" => {}
                "PRIVATE KEY" if key.is_none() => key = Some(pkcs8_to_pkcs1(&der)?),
                "RSA PRIVATE KEY" if key.is_none() => key = Some(der),
                "ENCRYPTED PRIVATE KEY" => {
                    return Err("the PEM private key is encrypted: give an unencrypted PEM key, or a PKCS#12 file with AZURE_CLIENT_CERTIFICATE_PASSWORD".into())
                }
                "EC PRIVATE KEY" => return Err("the private key is an EC key: Entra certificate credentials need an RSA key".into()),
                _ => {}
            }
        }
        Ok(CertificateKey {
            pkcs1: key.ok_or("the PEM file has no private key (PRIVATE KEY or RSA PRIVATE KEY)")?,
            cert_der: cert_der.ok_or("the PEM file has no CERTIFICATE")?,
        })
    }

    #[cfg(not(feature = "pkcs12"))]
    fn from_pkcs12(_bytes: &[u8], _password: Option<&SecretString>) -> Result<Self, String> {
        Err("the file is not PEM, and this build reads no PKCS#12 files (feature `pkcs12` of vault-azure): convert it to PEM or enable the feature".into())
    }

    #[cfg(feature = "pkcs12")]
    fn from_pkcs12(bytes: &[u8], password: Option<&SecretString>) -> Result<Self, String> {
        use secrecy::ExposeSecret;
        let password = password.map_or("", |p| p.expose_secret());
        let store = p12_keystore::KeyStore::from_pkcs12(
            bytes,
            password,
            p12_keystore::Pkcs12ImportPolicy::Relaxed,
        )
        .map_err(|e| match e {
            p12_keystore::error::Error::MacError(_) => {
                "the PKCS#12 file cannot be opened with this password (AZURE_CLIENT_CERTIFICATE_PASSWORD)".to_owned()
            }
            _ => "the file is neither PEM nor a PKCS#12 file this client can read".to_owned(),
        })?;
        let (_, chain) = store
            .private_key_chain()
            .ok_or("the PKCS#12 file holds no private key")?;
        let cert = chain
            .certs()
            .first()
            .ok_or("the PKCS#12 file holds no certificate for its key")?;
        Ok(CertificateKey {
            pkcs1: pkcs8_to_pkcs1(chain.key().as_der())?,
            cert_der: cert.as_der().to_vec(),
        })
    }

    /// The PKCS#1 DER of the RSA key (what `jsonwebtoken` signs with).
    pub(crate) fn pkcs1_der(&self) -> &[u8] {
        &self.pkcs1
    }

    /// `x5t#S256`: base64url of the SHA-256 of the certificate's DER.
    pub(crate) fn thumbprint_s256(&self) -> String {
        URL_SAFE_NO_PAD.encode(Sha256::digest(&self.cert_der))
    }
}

/// One PEM block: its label and its DER bytes.
type PemBlock = (String, Zeroizing<Vec<u8>>);

/// The blocks of a PEM text.
fn pem_blocks(text: &str) -> Result<Vec<PemBlock>, String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN ") {
        let after = &rest[start + 11..];
        let label_end = after.find("-----").ok_or("a PEM header is not closed")?;
        let label = after[..label_end].trim().to_owned();
        let body_start = &after[label_end + 5..];
        let footer = format!("-----END {label}-----");
        let end = body_start
            .find(&footer)
            .ok_or_else(|| format!("the PEM block {label} has no END line"))?;
        let b64 = Zeroizing::new(
            body_start[..end]
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect::<String>(),
        );
        if b64.contains(':') {
            return Err(format!("the PEM block {label} is encrypted (Proc-Type headers): give an unencrypted key or a PKCS#12 file"));
        }
        let der = STANDARD
            .decode(b64.as_bytes())
            .map_err(|_| format!("the PEM block {label} is not base64"))?;
        out.push((label, Zeroizing::new(der)));
        rest = &body_start[end + footer.len()..];
    }
    Ok(out)
}

/// One DER element: `(tag, content, rest)`.
fn der_element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (first as usize, rest)
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | *b as usize);
        (len, &rest[n..])
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

/// PKCS#8 `PrivateKeyInfo` → the PKCS#1 `RSAPrivateKey` inside it (RSA only).
fn pkcs8_to_pkcs1(der: &[u8]) -> Result<Zeroizing<Vec<u8>>, String> {
    let bad = || "the private key is not a PKCS#8 RSA key".to_owned();
    let (tag, info, _) = der_element(der).ok_or_else(bad)?;
    if tag != 0x30 {
        return Err(bad());
    }
    let (tag, _version, rest) = der_element(info).ok_or_else(bad)?;
    if tag != 0x02 {
        return Err(bad());
    }
    let (tag, algorithm, rest) = der_element(rest).ok_or_else(bad)?;
    if tag != 0x30 {
        return Err(bad());
    }
    if !algorithm.starts_with(RSA_OID) {
        return Err(
            "the private key is not an RSA key: Entra certificate credentials need RSA".into(),
        );
    }
    let (tag, key, _) = der_element(rest).ok_or_else(bad)?;
    if tag != 0x04 {
        return Err(bad());
    }
    Ok(Zeroizing::new(key.to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_walk_refuses_garbage_without_panicking() {
        for bad in [
            &[][..],
            &[0x30],
            &[0x30, 0x85, 1, 1, 1, 1, 1],
            &[0x30, 0x05, 1],
            &[0x04, 0x00],
        ] {
            assert!(pkcs8_to_pkcs1(bad).is_err());
        }
        // version, an EC algorithm: named as not RSA.
        let ec = [
            0x30, 0x0d, 0x02, 0x01, 0x00, 0x30, 0x08, 0x06, 0x06, 0x2a, 0x86, 0x48, 0xce, 0x3d,
            0x02,
        ];
        assert!(pkcs8_to_pkcs1(&ec).unwrap_err().contains("not an RSA key"));
    }

    #[test]
    fn pem_errors_name_the_problem() {
        assert!(CertificateKey::parse(
            b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
            None
        )
        .unwrap_err()
        .contains("no private key"));
        assert!(CertificateKey::parse(
            b"-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n",
            None
        )
        .unwrap_err()
        .contains("encrypted"));
        assert!(CertificateKey::parse(b"-----BEGIN CERTIFICATE-----\n!!\n", None).is_err());
        let e = CertificateKey::parse(b"not a pfx", None).unwrap_err();
        assert!(
            e.contains("neither PEM nor") || e.contains("feature `pkcs12`"),
            "{e}"
        );
    }
}
