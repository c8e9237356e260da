//! Texts that many events repeat, decoded into one shared copy rather than one copy each. A
//! province studies a few dozen documents, and every study-points event names one: the state
//! keeps each event in force, so a copy per event was about a sixth of its memory
//! (docs/BENCHMARKS.md, sixteenth round).
//!
//! Each thread remembers the texts it decoded last, a few at most and short ones only, so that
//! what is remembered stays small whatever the input: a text seen again is shared, any other is
//! copied as before. Sharing changes no value, only where it is kept.

use std::cell::RefCell;
use std::sync::Arc;

/// How many texts a thread remembers.
const REMEMBERED: usize = 32;
/// The longest text remembered, in bytes: a document's name, not a paragraph.
const LONGEST: usize = 256;

/// The texts a thread decoded lately: each moves a place nearer the front when it is seen
/// again, and a text not seen takes the last place, in place of the text there once every
/// place is taken. A text seen twice is out of the last place, so a text seen often stays
/// while texts seen once come and go.
#[derive(Default)]
struct Recent {
    texts: Vec<Arc<str>>,
}

impl Recent {
    fn text(&mut self, text: &str) -> Arc<str> {
        self.text_of(text.as_bytes()).expect("a str is UTF-8")
    }

    /// The text `bytes` hold, or `None` if they are not UTF-8. Bytes equal to a text kept are
    /// that text, and need no check.
    fn text_of(&mut self, bytes: &[u8]) -> Option<Arc<str>> {
        if bytes.len() > LONGEST {
            return std::str::from_utf8(bytes).ok().map(Arc::from);
        }
        let seen = self.texts.iter().position(|kept| kept.len() == bytes.len() && kept.as_bytes() == bytes);
        Some(match seen {
            Some(0) => self.texts[0].clone(),
            Some(at) => {
                self.texts.swap(at, at - 1);
                self.texts[at - 1].clone()
            }
            None => {
                let new: Arc<str> = std::str::from_utf8(bytes).ok()?.into();
                if self.texts.len() == REMEMBERED {
                    self.texts.pop();
                }
                self.texts.push(new.clone());
                new
            }
        })
    }
}

thread_local! {
    static RECENT: RefCell<Recent> = RefCell::default();
}

/// `text`, shared with the events this thread decoded before it if it was among their texts
/// lately.
pub(super) fn text(text: &str) -> Arc<str> {
    RECENT.with(|recent| recent.borrow_mut().text(text))
}

/// The text `bytes` hold, as [`text`] gives it, or `None` if they are not UTF-8: a payload's
/// bytes, read in place. Bytes equal to a text seen lately are not checked again, and a
/// document's name is a hundred bytes of Vietnamese (docs/BENCHMARKS.md, twentieth round).
pub(super) fn text_of(bytes: &[u8]) -> Option<Arc<str>> {
    RECENT.with(|recent| recent.borrow_mut().text_of(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_seen_again_is_the_same_copy() {
        let mut recent = Recent::default();
        let first = recent.text("Điều lệ Đảng");
        let other = recent.text("Nghị quyết 57-NQ/TW");
        let again = recent.text(&String::from("Điều lệ Đảng"));
        assert!(Arc::ptr_eq(&first, &again));
        assert!(!Arc::ptr_eq(&first, &other));
        assert_eq!((&*again, &*other), ("Điều lệ Đảng", "Nghị quyết 57-NQ/TW"));
        // Texts of the same length are told apart by their bytes.
        assert_eq!(&*recent.text("Điều lệ Đảnx"), "Điều lệ Đảnx");
    }

    #[test]
    fn bytes_are_a_text_only_when_they_are_utf8() {
        let mut recent = Recent::default();
        let kept = recent.text("Nghị quyết");
        let again = recent.text_of("Nghị quyết".as_bytes()).unwrap();
        assert!(Arc::ptr_eq(&kept, &again));
        // Not UTF-8, whether as long as a text kept or not, short or long.
        let mut bad = "Nghị quyết".as_bytes().to_vec();
        bad[3] = 0xff;
        assert_eq!(recent.text_of(&bad), None);
        assert_eq!(recent.text_of(&[0xc3]), None);
        assert_eq!(recent.text_of(&[0xe1; LONGEST + 1]), None);
        assert!(recent.texts.iter().all(|kept| std::str::from_utf8(kept.as_bytes()).is_ok()));
        assert_eq!(recent.texts.len(), 1, "what is not a text is not kept");
    }

    #[test]
    fn what_is_remembered_is_bounded_and_every_text_comes_back_as_given() {
        let mut recent = Recent::default();
        for round in 0..3 {
            for n in 0..10 * REMEMBERED {
                let text = format!("văn kiện {n}");
                assert_eq!(&*recent.text(&text), text, "round {round}");
            }
        }
        assert_eq!(recent.texts.len(), REMEMBERED);
        let long = "a".repeat(LONGEST + 1);
        let (a, b) = (recent.text(&long), recent.text(&long));
        assert_eq!(&*a, long);
        assert!(!Arc::ptr_eq(&a, &b), "a long text is copied, not remembered");
        assert!(recent.texts.iter().all(|kept| kept.len() <= LONGEST));
    }

    #[test]
    fn the_texts_seen_most_stay_while_others_come_and_go() {
        let mut recent = Recent::default();
        let kept = recent.text("Nghị quyết Đại hội XIII");
        for n in 0..20 * REMEMBERED {
            recent.text(&format!("một lần {n}"));
            if n % 4 == 0 {
                assert!(Arc::ptr_eq(&kept, &recent.text("Nghị quyết Đại hội XIII")), "after {n}");
            }
        }
    }
}
