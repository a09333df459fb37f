//! Chinese numerals as house numbers: 十二 = 12, 一百零五 = 105, 一二八 = 128 (digit by digit).

/// The value of a Chinese numeral character used in house numbers.
fn digit(c: char) -> Option<u64> {
    Some(match c {
        '零' | '〇' => 0,
        '一' => 1,
        '二' | '两' => 2,
        '三' => 3,
        '四' => 4,
        '五' => 5,
        '六' => 6,
        '七' => 7,
        '八' => 8,
        '九' => 9,
        _ => return None,
    })
}

fn unit(c: char) -> Option<u64> {
    Some(match c {
        '十' => 10,
        '百' => 100,
        '千' => 1000,
        '万' => 10_000,
        _ => return None,
    })
}

pub fn is_numeral(c: char) -> bool {
    digit(c).is_some() || unit(c).is_some()
}

/// Parses a run of Chinese numeral characters; `None` if it is not a well-formed number.
pub fn parse(run: &[char]) -> Option<u64> {
    if run.is_empty() {
        return None;
    }
    if run.iter().all(|&c| digit(c).is_some()) {
        // Read digit by digit, as house numbers are often spoken: 一二八 = 128.
        return run
            .iter()
            .try_fold(0u64, |n, &c| n.checked_mul(10)?.checked_add(digit(c)?));
    }
    let (mut total, mut current) = (0u64, None::<u64>);
    for &c in run {
        if let Some(d) = digit(c) {
            current = Some(d);
        } else if let Some(u) = unit(c) {
            // A bare 十 at the start means 一十.
            total = total.checked_add(current.unwrap_or(1).checked_mul(u)?)?;
            current = None;
        }
    }
    total.checked_add(current.unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Option<u64> {
        parse(&s.chars().collect::<Vec<_>>())
    }

    #[test]
    fn house_numbers() {
        assert_eq!(p("十二"), Some(12));
        assert_eq!(p("十"), Some(10));
        assert_eq!(p("二十"), Some(20));
        assert_eq!(p("一百二十八"), Some(128));
        assert_eq!(p("一百零五"), Some(105));
        assert_eq!(p("两千零八"), Some(2008));
        assert_eq!(p("一二八"), Some(128));
        assert_eq!(p("三千一百四十七"), Some(3147));
        assert_eq!(p(""), None);
    }
}
