//! Credentials never appear whole in logs, errors, metrics or `Debug`
//! output. Here (below config and gateway) so every crate masks
//! the same way; the gateway re-exports it.

/// `sk-…abcd`: a short prefix and the last four characters, enough to tell
/// keys apart without revealing them. Short tokens show only `…` and the
/// last two characters.
pub fn mask_credential(token: &str) -> String {
    let chars: Vec<char> = token.chars().collect();
    let n = chars.len();
    if n == 0 {
        return "(none)".into();
    }
    if n < 12 {
        let tail: String = chars[n.saturating_sub(2)..].iter().collect();
        return format!("…{tail}");
    }
    let head_len = chars
        .iter()
        .position(|c| *c == '-')
        .map_or(3, |i| (i + 1).min(4));
    let head: String = chars[..head_len].iter().collect();
    let tail: String = chars[n - 4..].iter().collect();
    format!("{head}…{tail}")
}

#[cfg(test)]
mod tests {
    use super::mask_credential;

    #[test]
    fn masks() {
        assert_eq!(mask_credential("sk-abcdefghijklmnop1234"), "sk-…1234");
        assert_eq!(mask_credential("bad-0123456789abcd"), "bad-…abcd");
        assert_eq!(mask_credential("0123456789abcdef"), "012…cdef");
        assert_eq!(mask_credential("short"), "…rt");
        assert_eq!(mask_credential(""), "(none)");
        let t = "sk-proj-averyveryverylongsecretvalue";
        assert!(!mask_credential(t).contains("secret"));
    }
}
