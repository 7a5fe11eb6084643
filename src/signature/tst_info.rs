//! `TSTInfo` (RFC 3161 §2.4.2), read as x509-tsp 0.1 reads it but for `genTime`: RFC 3161 lets it
//! carry fractional seconds (`YYYYMMDDhhmmss[.s...]Z`), which TSAs such as Microsoft's send and
//! which x509-tsp 0.1's `GeneralizedTime` (X.509's profile: whole seconds only) refuses. The
//! fields are x509-tsp's own types; `genTime` is kept as its TLV and read by [`gen_time`].

use std::time::{Duration, SystemTime};

use der::asn1::{GeneralizedTime, Int, ObjectIdentifier};
use der::{Any, AnyRef, Sequence, Tag, Tagged as _};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::Extensions;
use x509_tsp::{Accuracy, MessageImprint, TspVersion};

/// x509-tsp's `TstInfo`, field for field, with `gen_time` left undecoded.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(super) struct TstInfo {
    pub version: TspVersion,
    pub policy: ObjectIdentifier,
    pub message_imprint: MessageImprint,
    pub serial_number: Int,
    pub gen_time: Any,
    #[asn1(optional = "true")]
    pub accuracy: Option<Accuracy>,
    #[asn1(default = "Default::default")]
    pub ordering: bool,
    #[asn1(optional = "true")]
    pub nonce: Option<Int>,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub tsa: Option<GeneralName>,
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    pub extensions: Option<Extensions>,
}

/// `genTime` as a point in time: the whole seconds read by der's own `GeneralizedTime`, plus the
/// fraction (to the nanosecond; further digits are dropped). `None` if it is not a UTC
/// `GeneralizedTime` of that form.
pub(super) fn gen_time(value: &Any) -> Option<SystemTime> {
    if value.tag() != Tag::GeneralizedTime {
        return None;
    }
    let (whole, rest) = value.value().split_at_checked(14)?;
    let nanos = match rest.strip_suffix(b"Z")? {
        [] => 0,
        [b'.', digits @ ..] if !digits.is_empty() && digits.iter().all(u8::is_ascii_digit) => {
            (0..9).fold(0u64, |n, i| n * 10 + u64::from(digits.get(i).map_or(0, |d| d - b'0')))
        }
        _ => return None,
    };
    let seconds = [whole, b"Z"].concat();
    let time: GeneralizedTime = AnyRef::new(Tag::GeneralizedTime, &seconds).ok()?.decode_as().ok()?;
    Some(time.to_system_time() + Duration::from_nanos(nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Option<SystemTime> {
        gen_time(&Any::new(Tag::GeneralizedTime, text.as_bytes()).unwrap())
    }

    #[test]
    fn whole_and_fractional_seconds_read_as_rfc_3161_writes_them() {
        let base = SystemTime::UNIX_EPOCH + Duration::from_secs(1_686_137_186);
        assert_eq!(at("20230607112626Z"), Some(base));
        assert_eq!(at("20230607112626.5Z"), Some(base + Duration::from_millis(500)));
        assert_eq!(at("20230607112626.123Z"), Some(base + Duration::from_millis(123)));
        assert_eq!(at("20230607112626.1234567891Z"), Some(base + Duration::from_nanos(123_456_789)));
    }

    #[test]
    fn other_forms_are_not_read() {
        for text in ["20230607112626", "20230607112626.Z", "20230607112626,5Z", "202306071126Z", "20231307112626Z", "x"]
        {
            assert_eq!(at(text), None, "{text}");
        }
        let utc = Any::new(Tag::UtcTime, b"230607112626Z".as_slice()).unwrap();
        assert_eq!(gen_time(&utc), None);
    }
}
