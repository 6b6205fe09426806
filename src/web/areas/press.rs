//! The press room: the public pages and feeds, answered from memory ([`PressRoom`]).
//!
//! - `/` sends the reader to `{lang}/index.html` in the language their browser asks for
//!   (`Accept-Language`), else the hospital's default language;
//! - `/{lang}/` is that language's timeline; every file of the press room at its path;
//! - `/{lang}/check.html?ref=…` answers whether the hospital issued that reference;
//! - anything else: a short page in the reader's language, 404.
//!
//! Every file answers conditional requests: `If-None-Match` (weak comparison, lists, `*`)
//! and, without it, `If-Modified-Since` give 304 with the validators and no body.

use crate::domain::Language;
use crate::press::{pages, File};
use crate::web::press_room::{PressRoom, Served, Snapshot};
use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::header::{
    CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED, LOCATION,
    VARY,
};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, Utc};

/// Pages hold no script and load nothing from elsewhere; a browser told so refuses any
/// that an escaping mistake would let in.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
     form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// Answers that depend on more than the path (the check's, a 404): asked again each time.
const NO_CACHE: &str = "no-cache";

pub fn router(press: PressRoom) -> Router {
    Router::new()
        .route("/", get(choose_language))
        .route("/{*path}", get(file))
        .with_state(press)
}

/// `/`: the timeline in the reader's language.
async fn choose_language(State(press): State<PressRoom>, headers: HeaderMap) -> Response {
    press.pace().await;
    let snapshot = press.snapshot();
    let accepted = headers
        .get(axum::http::header::ACCEPT_LANGUAGE)
        .and_then(|value| value.to_str().ok());
    let language = negotiate(accepted, snapshot.edition.default_language);
    redirect(
        StatusCode::FOUND,
        &format!("{}/index.html", language.code()),
        &snapshot,
    )
}

async fn file(
    State(press): State<PressRoom>,
    Path(path): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    press.pace().await;
    let snapshot = press.snapshot();
    let folder = Language::ALL
        .into_iter()
        .find(|language| path.split('/').next() == Some(language.code()));
    if let Some(language) = folder {
        let code = language.code();
        match path.strip_prefix(code) {
            Some("") => {
                return redirect(
                    StatusCode::MOVED_PERMANENTLY,
                    &format!("{code}/index.html"),
                    &snapshot,
                )
            }
            Some("/") => return answer_file(&snapshot, &format!("{code}/index.html"), &headers),
            Some("/check.html") => {
                if let Some(typed) = reference_asked(query.as_deref()) {
                    return check(&press, &snapshot, language, &typed, &headers);
                }
            }
            _ => {}
        }
    }
    if snapshot.file(&path).is_some() {
        return answer_file(&snapshot, &path, &headers);
    }
    let language = folder.unwrap_or_else(|| {
        let accepted = headers
            .get(axum::http::header::ACCEPT_LANGUAGE)
            .and_then(|value| value.to_str().ok());
        negotiate(accepted, snapshot.edition.default_language)
    });
    let mut response = html(
        StatusCode::NOT_FOUND,
        snapshot.not_found(language),
        HeaderValue::from_static(NO_CACHE),
    );
    if folder.is_none() {
        response
            .headers_mut()
            .insert(VARY, HeaderValue::from_static("Accept-Language"));
    }
    response
}

/// The `ref` of a query, when it says something.
fn reference_asked(query: Option<&str>) -> Option<String> {
    url::form_urlencoded::parse(query?.as_bytes())
        .find(|(key, _)| key == "ref")
        .map(|(_, value)| value.trim().to_string())
        .filter(|value| !value.is_empty())
}

fn check(
    press: &PressRoom,
    snapshot: &Snapshot,
    language: Language,
    typed: &str,
    headers: &HeaderMap,
) -> Response {
    let locales = press.renderer().locales();
    let answer = match pages::check_answer(&snapshot.edition, locales, language, typed) {
        Ok(answer) => answer,
        Err(error) => {
            tracing::warn!(message = "press room: the check page failed", %error);
            return bare(StatusCode::INTERNAL_SERVER_ERROR);
        }
    };
    if !answer.genuine {
        return html(
            StatusCode::NOT_FOUND,
            Bytes::from(answer.html),
            HeaderValue::from_static(NO_CACHE),
        );
    }
    let file = File::new(answer.html, pages::HTML, snapshot.edition.last_modified());
    let served = Served::new(&file, file.last_modified);
    conditional(&served, HeaderValue::from_static(NO_CACHE), headers)
}

fn answer_file(snapshot: &Snapshot, path: &str, headers: &HeaderMap) -> Response {
    match snapshot.file(path) {
        Some(served) => conditional(served, snapshot.cache_control.clone(), headers),
        None => bare(StatusCode::NOT_FOUND),
    }
}

/// 200 with the file, or 304 with its validators alone when the client's copy is current.
fn conditional(served: &Served, cache_control: HeaderValue, headers: &HeaderMap) -> Response {
    let header = |name: HeaderName| headers.get(name).and_then(|value| value.to_str().ok());
    let fresh = is_fresh(
        header(IF_NONE_MATCH),
        header(IF_MODIFIED_SINCE),
        served.etag.to_str().unwrap_or_default(),
        served.last_modified,
    );
    let mut response = if fresh {
        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::NOT_MODIFIED;
        response
    } else {
        let mut response = Response::new(Body::from(served.body.clone()));
        response
            .headers_mut()
            .insert(CONTENT_TYPE, served.content_type.clone());
        response
    };
    let answer = response.headers_mut();
    answer.insert(ETAG, served.etag.clone());
    answer.insert(LAST_MODIFIED, served.last_modified_header.clone());
    answer.insert(CACHE_CONTROL, cache_control);
    protect(answer);
    response
}

/// Is the client's copy current? `If-None-Match` decides when it is there (RFC 9110
/// 13.2.2); `If-Modified-Since` only without it.
pub(crate) fn is_fresh(
    if_none_match: Option<&str>,
    if_modified_since: Option<&str>,
    etag: &str,
    last_modified: DateTime<Utc>,
) -> bool {
    if let Some(tags) = if_none_match {
        let ours = opaque(etag);
        return tags
            .split(',')
            .map(str::trim)
            .any(|tag| tag == "*" || (!tag.is_empty() && opaque(tag) == ours));
    }
    let Some(since) = if_modified_since.and_then(|date| httpdate::parse_http_date(date).ok())
    else {
        return false;
    };
    let since: DateTime<Utc> = since.into();
    last_modified.timestamp() <= since.timestamp()
}

/// A tag without its weakness mark: `If-None-Match` compares weakly.
fn opaque(tag: &str) -> &str {
    tag.strip_prefix("W/").unwrap_or(tag)
}

/// The press room's language for an `Accept-Language` header: the first of nl, fr, en by
/// the reader's preference (q-values; `fr-BE` counts as `fr`, `*` as `default`), else
/// `default`.
pub(crate) fn negotiate(accept_language: Option<&str>, default: Language) -> Language {
    let Some(header) = accept_language else {
        return default;
    };
    let mut ranges: Vec<(f32, Option<Language>)> = header
        .split(',')
        .filter_map(|range| {
            let mut parts = range.split(';');
            let tag = parts.next()?.trim();
            // A range whose weight cannot be read is left out rather than taken at 1.
            let quality = match parts.find_map(|parameter| {
                let (name, value) = parameter.split_once('=')?;
                name.trim().eq_ignore_ascii_case("q").then(|| value.trim())
            }) {
                None => 1.0,
                Some(value) => value
                    .parse::<f32>()
                    .ok()
                    .filter(|q| (0.0..=1.0).contains(q))?,
            };
            if tag.is_empty() || quality <= 0.0 {
                return None;
            }
            let primary = tag.split(['-', '_']).next().unwrap_or_default();
            let language = if tag == "*" {
                Some(default)
            } else {
                Language::ALL
                    .into_iter()
                    .find(|language| primary.eq_ignore_ascii_case(language.code()))
            };
            Some((quality, language))
        })
        .collect();
    // Stable: among equal qualities the reader's order stands.
    ranges.sort_by(|a, b| b.0.total_cmp(&a.0));
    ranges
        .into_iter()
        .find_map(|(_, language)| language)
        .unwrap_or(default)
}

fn redirect(status: StatusCode, location: &str, snapshot: &Snapshot) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = status;
    let headers = response.headers_mut();
    // Relative, so that a press room behind a proxy's subfolder sends to its own folder.
    if let Ok(location) = HeaderValue::from_str(location) {
        headers.insert(LOCATION, location);
    }
    headers.insert(VARY, HeaderValue::from_static("Accept-Language"));
    headers.insert(CACHE_CONTROL, snapshot.cache_control.clone());
    response
}

fn html(status: StatusCode, body: Bytes, cache_control: HeaderValue) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(pages::HTML));
    headers.insert(CACHE_CONTROL, cache_control);
    protect(headers);
    response
}

fn protect(headers: &mut HeaderMap) {
    headers.insert(
        axum::http::header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        axum::http::header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
}

fn bare(status: StatusCode) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = status;
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web::press_room::http_date;

    #[test]
    fn the_readers_language_is_chosen_by_preference_and_quality() {
        let en = Language::En;
        for (header, expected) in [
            (Some("fr-BE,fr;q=0.9"), Language::Fr),
            (Some("nl-BE"), Language::Nl),
            (Some("NL-be,en;q=0.5"), Language::Nl),
            (Some("de-DE,de;q=0.9,en;q=0.8,fr;q=0.7"), Language::En),
            (Some("de, fr;q=0.2, nl;q=0.8"), Language::Nl),
            (Some("en;q=0.1, fr"), Language::Fr),
            (Some("fr;q=0, nl;q=0.3"), Language::Nl),
            (Some("es, it;q=0.8"), en),
            (Some("*"), en),
            (Some("fr;q=abc, nl"), Language::Nl),
            (Some("fr;q=0.5, nl;q=0.5"), Language::Fr),
            (Some(""), en),
            (None, en),
        ] {
            assert_eq!(negotiate(header, en), expected, "{header:?}");
        }
        assert_eq!(negotiate(Some("ja"), Language::Nl), Language::Nl);
        assert_eq!(negotiate(Some("ja, *;q=0.1"), Language::Fr), Language::Fr);
    }

    #[test]
    fn a_client_copy_is_current_by_its_tag_first_then_by_its_date() {
        let modified = DateTime::from_timestamp(1_768_285_800, 0).expect("valid");
        let tag = "\"abc123\"";
        let same_date = http_date(modified);
        let later = http_date(modified + chrono::Duration::seconds(5));
        let earlier = http_date(modified - chrono::Duration::seconds(1));
        for (if_none_match, if_modified_since, fresh) in [
            (Some("\"abc123\""), None, true),
            (Some("W/\"abc123\""), None, true),
            (Some("\"other\", W/\"abc123\""), None, true),
            (Some("*"), None, true),
            (Some("\"other\""), None, false),
            (Some("abc123"), None, false),
            (Some(""), None, false),
            // The tag decides even when the date would say current.
            (Some("\"other\""), Some(same_date.as_str()), false),
            (Some("\"abc123\""), Some(earlier.as_str()), true),
            (None, Some(same_date.as_str()), true),
            (None, Some(later.as_str()), true),
            (None, Some(earlier.as_str()), false),
            (None, Some("Tuesday, 13-Jan-26 06:30:00 GMT"), true),
            (None, Some("Tue Jan 13 06:30:00 2026"), true),
            (None, Some("yesterday"), false),
            (None, None, false),
        ] {
            assert_eq!(
                is_fresh(if_none_match, if_modified_since, tag, modified),
                fresh,
                "{if_none_match:?} {if_modified_since:?}"
            );
        }
        assert_eq!(same_date, "Tue, 13 Jan 2026 06:30:00 GMT");
    }

    #[test]
    fn a_reference_is_read_from_the_query_as_a_form_sends_it() {
        assert_eq!(
            reference_asked(Some("ref=zna-20260113-7jq4")).as_deref(),
            Some("zna-20260113-7jq4")
        );
        assert_eq!(
            reference_asked(Some("x=1&ref=%3Cb%3E+ZNA")).as_deref(),
            Some("<b> ZNA")
        );
        assert_eq!(reference_asked(Some("ref=")), None);
        assert_eq!(reference_asked(Some("ref=+")), None);
        assert_eq!(reference_asked(None), None);
    }
}
