//! The absolute addresses of the press room that messages print (and feeds give): one place
//! for the paths of the table in `press/mod.rs`, so that an e-mail's link leads to the page
//! the press room writes.

use crate::domain::{Language, PublicReference};
use url::Url;

/// The page of one update in `language`: `{public_url}{lang}/{reference}.html`.
pub fn update_page(public_url: &Url, language: Language, reference: &PublicReference) -> Url {
    under(public_url, &format!("{}/{reference}.html", language.code()))
}

/// The check page with the reference filled in: `{public_url}{lang}/check.html?ref={reference}`.
pub fn check(public_url: &Url, language: Language, reference: &PublicReference) -> Url {
    let mut url = under(public_url, &format!("{}/check.html", language.code()));
    url.query_pairs_mut().append_pair("ref", reference.as_str());
    url
}

/// The feeds a reader of `language` can follow, by the name readers know them by.
pub fn feeds(public_url: &Url, language: Language) -> [(&'static str, Url); 4] {
    let lang = language.code();
    [
        ("Atom", under(public_url, &format!("{lang}/atom.xml"))),
        ("RSS", under(public_url, &format!("{lang}/rss.xml"))),
        ("JSON Feed", under(public_url, &format!("{lang}/feed.json"))),
        ("CAP", under(public_url, "cap/index.atom")),
    ]
}

/// `path` below `public_url`, which ends with `/` (see `press::public_url`).
fn under(public_url: &Url, path: &str) -> Url {
    public_url.join(path).unwrap_or_else(|_| public_url.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_stay_below_the_public_url_and_carry_the_reference() {
        let base = Url::parse("https://www.example.be/crisis/").expect("url");
        let reference = PublicReference::from_stored("ZNA-20260113-7JQ4".into());
        assert_eq!(
            update_page(&base, Language::Fr, &reference).as_str(),
            "https://www.example.be/crisis/fr/ZNA-20260113-7JQ4.html"
        );
        assert_eq!(
            check(&base, Language::Nl, &reference).as_str(),
            "https://www.example.be/crisis/nl/check.html?ref=ZNA-20260113-7JQ4"
        );
        let feeds: Vec<String> = feeds(&base, Language::En)
            .iter()
            .map(|(name, url)| format!("{name} {url}"))
            .collect();
        assert_eq!(
            feeds,
            [
                "Atom https://www.example.be/crisis/en/atom.xml",
                "RSS https://www.example.be/crisis/en/rss.xml",
                "JSON Feed https://www.example.be/crisis/en/feed.json",
                "CAP https://www.example.be/crisis/cap/index.atom",
            ]
        );
    }
}
