//! Checks of identifiers that carry their own check characters, and masking for lists.

/// The chinese resident identity number (GB 11643-1999): 17 digits and a check character
/// computed with ISO 7064 MOD 11-2.
pub mod id_number {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: &[u8; 11] = b"10X98765432";

    /// The check character for the first 17 digits, or `None` if they are not digits.
    pub fn check_char(first17: &str) -> Option<char> {
        if first17.len() != 17 {
            return None;
        }
        let mut sum = 0;
        for (c, w) in first17.chars().zip(WEIGHTS) {
            sum += c.to_digit(10)? * w;
        }
        Some(CHECK[(sum % 11) as usize] as char)
    }

    /// Whether `id` is a well-formed 18-character number with the right check character.
    pub fn is_valid(id: &str) -> bool {
        if id.len() != 18 || !id.is_ascii() {
            return false;
        }
        let (body, check) = id.split_at(17);
        let birth = &body[6..14];
        let month: u32 = birth[4..6].parse().unwrap_or(0);
        let day: u32 = birth[6..8].parse().unwrap_or(0);
        check_char(body)
            .is_some_and(|c| c.eq_ignore_ascii_case(&check.chars().next().unwrap_or(' ')))
            && (1..=12).contains(&month)
            && (1..=31).contains(&day)
    }

    /// `330211********123X` — for lists, where a passer-by may see the screen.
    pub fn masked(id: &str) -> String {
        if id.len() == 18 && id.is_ascii() {
            format!("{}********{}", &id[..6], &id[14..])
        } else {
            "*".repeat(id.chars().count())
        }
    }
}

/// The unified social credit code of an organisation (统一社会信用代码, GB 32100-2015): 18
/// characters from `0-9 A-Z` without I, O, S, V and Z — registering authority, kind of
/// body, 6-digit administrative division, 9-character organisation code, and a check
/// character computed modulo 31.
pub mod credit_code {
    const CHARSET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
    /// 3^(i-1) mod 31 for positions 1..=17.
    const WEIGHTS: [u32; 17] = [
        1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
    ];

    /// What is wrong with a code, as a form shows it next to the field.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum CreditCodeProblem {
        /// Not 18 characters.
        Length,
        /// A character outside the code's alphabet (I, O, S, V, Z, lower-case is accepted),
        /// or a division code that is not 6 digits.
        Characters,
        /// The 18th character does not match the first 17: a typo.
        Check,
    }

    impl CreditCodeProblem {
        pub fn code(self) -> &'static str {
            match self {
                CreditCodeProblem::Length => "bad-length",
                CreditCodeProblem::Characters => "bad-chars",
                CreditCodeProblem::Check => "bad-check",
            }
        }
    }

    fn value(c: char) -> Option<u32> {
        let c = c.to_ascii_uppercase();
        CHARSET
            .iter()
            .position(|&b| b as char == c)
            .map(|i| i as u32)
    }

    /// The check character for the first 17 characters.
    pub fn check_char(first17: &str) -> Option<char> {
        if first17.chars().count() != 17 {
            return None;
        }
        let mut sum = 0;
        for (c, w) in first17.chars().zip(WEIGHTS) {
            sum += value(c)? * w;
        }
        Some(CHARSET[((31 - sum % 31) % 31) as usize] as char)
    }

    /// Why `code` is not a valid credit code, or `Ok` (lower case is accepted; store it
    /// upper-cased).
    pub fn check(code: &str) -> Result<(), CreditCodeProblem> {
        if code.chars().count() != 18 {
            return Err(CreditCodeProblem::Length);
        }
        if !code.chars().all(|c| value(c).is_some())
            || !code[2..8].bytes().all(|b| b.is_ascii_digit())
        {
            return Err(CreditCodeProblem::Characters);
        }
        let expected = check_char(&code[..17]).ok_or(CreditCodeProblem::Characters)?;
        if code[17..].eq_ignore_ascii_case(&expected.to_string()) {
            Ok(())
        } else {
            Err(CreditCodeProblem::Check)
        }
    }

    pub fn is_valid(code: &str) -> bool {
        check(code).is_ok()
    }
}

/// Phone numbers as Gridpad accepts them: 7 to 15 digits, dashes allowed (a landline
/// `0574-86001234` or a mobile `13812345678`). The one check for residents and organisations, in
/// the store and in the forms.
pub mod phone {
    pub fn is_valid(phone: &str) -> bool {
        let digits = phone.bytes().filter(u8::is_ascii_digit).count();
        (7..=15).contains(&digits)
            && phone.len() <= 20
            && phone.bytes().all(|b| b.is_ascii_digit() || b == b'-')
            && !phone.starts_with('-')
            && !phone.ends_with('-')
    }
}

/// Mobile numbers as lists show them: `138****5678`.
pub fn masked_phone(phone: &str) -> String {
    if phone.len() == 11 && phone.is_ascii() {
        format!("{}****{}", &phone[..3], &phone[7..])
    } else {
        phone.to_string()
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_number_check_digit_matches_the_standard_example() {
        // GB 11643 worked example.
        assert_eq!(id_number::check_char("11010519491231002"), Some('X'));
        assert!(id_number::is_valid("11010519491231002X"));
        assert!(id_number::is_valid("11010519491231002x"));
        assert!(!id_number::is_valid("110105194912310021"));
        assert!(!id_number::is_valid("11010519491331002X")); // month 13
        assert!(!id_number::is_valid("1101051949123100"));
        assert!(!id_number::is_valid("張三"));
    }

    #[test]
    fn credit_codes_of_real_companies_pass_and_typos_fail() {
        // Codes printed on the business licences of well-known companies (Huawei
        // Technologies, Shenzhen; Tencent, Shenzhen; Alibaba (China), Hangzhou).
        for code in [
            "914403001922038216",
            "91440300708461136T",
            "91330100799655058B",
        ] {
            assert_eq!(credit_code::check(code), Ok(()), "{code}");
            assert_eq!(
                credit_code::check_char(&code[..17]),
                code.chars().nth(17),
                "{code}"
            );
        }
        assert!(credit_code::is_valid("91440300708461136t"), "lower case");
        use credit_code::CreditCodeProblem;
        // One character changed: the check character no longer matches.
        assert_eq!(
            credit_code::check("914403001922038217"),
            Err(CreditCodeProblem::Check)
        );
        assert_eq!(
            credit_code::check("914403001922038316"),
            Err(CreditCodeProblem::Check)
        );
        // Two neighbouring characters swapped.
        assert_eq!(
            credit_code::check("914403001922083216"),
            Err(CreditCodeProblem::Check)
        );
        assert_eq!(
            credit_code::check("91440300192203821"),
            Err(CreditCodeProblem::Length)
        );
        assert_eq!(credit_code::check(""), Err(CreditCodeProblem::Length));
        // I, O, S, V, Z are not in the alphabet; the division code is digits.
        assert_eq!(
            credit_code::check("9144030019220382I6"),
            Err(CreditCodeProblem::Characters)
        );
        assert_eq!(
            credit_code::check("91A40300192203821O"),
            Err(CreditCodeProblem::Characters)
        );
        // Full-width digits and Chinese characters are refused, not mangled.
        assert_eq!(
            credit_code::check("91440300１922038216"),
            Err(CreditCodeProblem::Characters)
        );
        assert_eq!(
            credit_code::check("91440300一922038216"),
            Err(CreditCodeProblem::Characters)
        );
    }

    #[test]
    fn phone_numbers_are_one_check() {
        for ok in ["13812345678", "0574-86001234", "8600123"] {
            assert!(phone::is_valid(ok), "{ok}");
        }
        for bad in [
            "",
            "123456",
            "1381234567890123",
            "138 1234 5678",
            "-13812345678",
            "1381234567x",
            "电话13812345678",
        ] {
            assert!(!phone::is_valid(bad), "{bad}");
        }
    }

    #[test]
    fn masking_hides_the_middle() {
        assert_eq!(
            id_number::masked("11010519491231002X"),
            "110105********002X"
        );
        assert_eq!(masked_phone("13812345678"), "138****5678");
    }
}
