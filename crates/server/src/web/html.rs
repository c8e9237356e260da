//! Markup built by small typed functions: [`Html`] holds markup that is safe to send, and the
//! only ways to add to it are static literals (which cannot carry user data) and [`escape`]d
//! text. Every name, topic, id and figure a page shows goes through [`Html::text`] or
//! [`Html::attr`], so a member named `<script>` is shown as that text, never run.

use std::fmt::Write as _;

/// `text` with the five characters that mean something in HTML (in content and in quoted
/// attribute values) written as character references.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Markup that is safe to send as it is.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Html(String);

impl Html {
    /// Empty markup.
    pub fn new() -> Html {
        Html(String::new())
    }

    /// Appends a literal: markup written in the source, never data.
    pub fn raw(&mut self, markup: &'static str) -> &mut Html {
        self.0.push_str(markup);
        self
    }

    /// Appends `text`, escaped.
    pub fn text(&mut self, text: &str) -> &mut Html {
        self.0.push_str(&escape(text));
        self
    }

    /// Appends a number.
    pub fn num(&mut self, n: impl Into<i128>) -> &mut Html {
        let _ = write!(self.0, "{}", n.into());
        self
    }

    /// Appends ` name="value"`, the value escaped (the name is a literal).
    pub fn attr(&mut self, name: &'static str, value: &str) -> &mut Html {
        self.0.push(' ');
        self.0.push_str(name);
        self.0.push_str("=\"");
        self.0.push_str(&escape(value));
        self.0.push('"');
        self
    }

    /// Appends `<tag attrs…>`.
    pub fn open(&mut self, tag: &'static str, attrs: &[(&'static str, &str)]) -> &mut Html {
        self.0.push('<');
        self.0.push_str(tag);
        for (name, value) in attrs {
            self.attr(name, value);
        }
        self.0.push('>');
        self
    }

    /// Appends `</tag>`.
    pub fn close(&mut self, tag: &'static str) -> &mut Html {
        self.0.push_str("</");
        self.0.push_str(tag);
        self.0.push('>');
        self
    }

    /// Appends `<tag attrs…>text</tag>`, the text escaped.
    pub fn elem(&mut self, tag: &'static str, attrs: &[(&'static str, &str)], text: &str) -> &mut Html {
        self.open(tag, attrs).text(text).close(tag)
    }

    /// Appends other markup.
    pub fn push(&mut self, other: Html) -> &mut Html {
        self.0.push_str(&other.0);
        self
    }

    /// The markup.
    pub fn into_string(self) -> String {
        self.0
    }

    /// The markup so far.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A query string's value, percent-encoded (`application/x-www-form-urlencoded`).
pub fn url_encode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// A per-mille figure as a percentage with one decimal: 873 → "87.3 %".
pub fn permille(value: u32) -> String {
    format!("{}.{} %", value / 10, value % 10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_special_character_is_escaped() {
        assert_eq!(
            escape(r#"<script>alert("x&y")</script> 'Tân'"#),
            "&lt;script&gt;alert(&quot;x&amp;y&quot;)&lt;/script&gt; &#39;Tân&#39;"
        );
        assert_eq!(escape("Chi bộ ấp Tân Hoà"), "Chi bộ ấp Tân Hoà");
    }

    #[test]
    fn text_and_attributes_are_escaped_literals_are_not() {
        let mut html = Html::new();
        html.open("a", &[("href", "/member/x?q=\"><script>")]).text("<b>Đồng chí</b>").close("a");
        assert_eq!(html.as_str(), "<a href=\"/member/x?q=&quot;&gt;&lt;script&gt;\">&lt;b&gt;Đồng chí&lt;/b&gt;</a>");
        assert!(!html.as_str().contains("<script"));
    }

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(url_encode("Tân Hoà&x=1"), "T%C3%A2n+Ho%C3%A0%26x%3D1");
        assert_eq!(permille(873), "87.3 %");
        assert_eq!(permille(1000), "100.0 %");
    }
}
