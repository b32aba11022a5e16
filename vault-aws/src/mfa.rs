//! Whether sign-in asks for an MFA code, and for which device.

/// How sign-in treats multi-factor authentication.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum Mfa {
    /// Never ask: use the base credentials as they are.
    Off,
    /// Always ask for a code of this device (its serial number, or ARN for a virtual device),
    /// then call STS GetSessionToken.
    Serial(String),
    /// Find out: STS GetCallerIdentity names the IAM user, IAM ListMFADevices lists the user's
    /// devices; with a device, ask for its code as with [`Mfa::Serial`]. When the identity may
    /// not list its devices, or is not an IAM user, or already holds temporary credentials, no
    /// code is asked.
    #[default]
    Discover,
}

/// Checks the shape of an MFA code before sending it: AWS codes are 6 digits. A typo is then
/// reported at once, without a round trip, and the code itself never appears in the message.
pub(crate) fn check_code(code: &str) -> Result<&str, &'static str> {
    let c = code.trim();
    if c.len() == 6 && c.bytes().all(|b| b.is_ascii_digit()) {
        Ok(c)
    } else {
        Err("an MFA code is 6 digits")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes() {
        assert_eq!(check_code(" 123456\n"), Ok("123456"));
        assert!(check_code("12345").is_err());
        assert!(check_code("12345a").is_err());
    }
}
