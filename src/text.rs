//! Free text that people type and others read (proposal titles, part names, justifications,
//! comments, token labels): refused when it hides what it says.
//!
//! Control characters (NUL, escapes, line breaks in one-line fields) break logs, CSV exports and
//! terminals; bidirectional overrides and isolates (U+202A–202E, U+2066–2069) and the invisible
//! direction marks (U+200E, U+200F, U+061C) make text display in another order than it is
//! stored, so a reviewer could approve a name that reads differently from what is recorded
//! ("Trojan Source", CVE-2021-42574). Lengths are bounded so that one field cannot fill a page,
//! a log line or the database.

/// Longest proposal part (community) name, in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// Longest proposal title, in characters.
pub const MAX_TITLE_CHARS: usize = 200;
/// Longest multi-line text (a justification, a comment), in characters.
pub const MAX_TEXT_CHARS: usize = 10_000;

/// Whether `c` changes the display direction of text around it.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// Checks one-line text (`multiline == false`: no line breaks or tabs) or multi-line text (line
/// breaks and tabs allowed) of at most `max_chars` characters. The message says what is wrong
/// and where (character position, code point), without the field name: callers add it.
pub fn check(text: &str, max_chars: usize, multiline: bool) -> Result<(), String> {
    let chars = text.chars().count();
    if chars > max_chars {
        return Err(format!(
            "{chars} characters; at most {max_chars} are accepted"
        ));
    }
    for (i, c) in text.chars().enumerate() {
        let allowed_break = multiline && matches!(c, '\n' | '\r' | '\t');
        if c.is_control() && !allowed_break {
            return Err(format!(
                "character {} is the control character U+{:04X}; control characters are not accepted",
                i + 1,
                u32::from(c)
            ));
        }
        if is_bidi_control(c) {
            return Err(format!(
                "character {} is the bidirectional control U+{:04X}, which makes text display in \
                 another order than it is stored; it is not accepted",
                i + 1,
                u32::from(c)
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_in_any_script_passes() {
        assert_eq!(check("城南社区 (north) – 2", MAX_NAME_CHARS, false), Ok(()));
        assert_eq!(check("line one\nline two\tend", 100, true), Ok(()));
    }

    #[test]
    fn controls_bidi_and_length_are_refused() {
        for (text, needle) in [
            ("a\0b", "U+0000"),
            ("a\nb", "U+000A"),
            ("a\u{1b}[31m", "U+001B"),
            ("abc\u{202E}cba", "U+202E"),
            ("\u{2066}x", "U+2066"),
            ("x\u{200F}", "U+200F"),
            ("x\u{061C}", "U+061C"),
        ] {
            let e = check(text, 100, false).unwrap_err();
            assert!(e.contains(needle), "{text:?}: {e}");
        }
        assert!(
            check("a\0b", 100, true).is_err(),
            "NUL is never a line break"
        );
        assert!(
            check(&"x".repeat(101), 100, false)
                .unwrap_err()
                .contains("at most 100")
        );
    }
}
