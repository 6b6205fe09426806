//! Where the mail goes: the SMTP URL, its security and credentials, and the TLS stream.

use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::AsyncTokioStream;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Security {
    Plain,
    /// STARTTLS if the server offers it.
    Opportunistic,
    /// STARTTLS or give up.
    StartTls,
    /// TLS from the first byte (`smtps://`).
    Implicit,
}

/// Where and how to reach the SMTP server, from `smtp_url`.
#[derive(Clone)]
pub struct SmtpTarget {
    pub(super) host: String,
    pub(super) port: u16,
    pub(super) security: Security,
    pub(super) credentials: Option<Credentials>,
}

impl std::fmt::Debug for SmtpTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpTarget")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field(
                "credentials",
                &self.credentials.as_ref().map(|_| "[hidden]"),
            )
            .finish()
    }
}

impl SmtpTarget {
    /// `password` (from the environment) wins over one written in the URL.
    pub fn parse(raw: &str, password: Option<String>) -> Result<SmtpTarget, String> {
        let url = url::Url::parse(raw).map_err(|error| format!("smtp_url {raw:?}: {error}"))?;
        let implicit = match url.scheme() {
            "smtp" => false,
            "smtps" => true,
            other => {
                return Err(format!(
                    "smtp_url scheme {other:?}: use smtp:// or smtps://"
                ))
            }
        };
        let host = url
            .host_str()
            .ok_or_else(|| format!("smtp_url {raw:?} has no host"))?
            .to_string();
        let mut security = if implicit {
            Security::Implicit
        } else {
            Security::Plain
        };
        for (key, value) in url.query_pairs() {
            match (key.as_ref(), value.as_ref(), implicit) {
                ("tls", "required", false) => security = Security::StartTls,
                ("tls", "opportunistic", false) => security = Security::Opportunistic,
                ("tls", "none", false) => security = Security::Plain,
                _ => return Err(format!("smtp_url: unknown option {key}={value}: use tls=required, tls=opportunistic or tls=none")),
            }
        }
        let credentials = match (
            url.username(),
            password.or(url.password().map(str::to_string)),
        ) {
            ("", _) => None,
            (user, Some(password)) => Some(Credentials::new(user.to_string(), password)),
            (_, None) => {
                return Err(
                    "smtp_url names a user but no password: set TOCSIN_SMTP_PASSWORD".into(),
                )
            }
        };
        Ok(SmtpTarget {
            port: url.port().unwrap_or(if implicit { 465 } else { 25 }),
            host,
            security,
            credentials,
        })
    }
}

/// A TLS stream of our own for `smtps://`, so that its socket has `TCP_NODELAY` too.
#[derive(Debug)]
pub(super) struct ImplicitTls(pub(super) tokio_native_tls::TlsStream<TcpStream>);

impl AsyncRead for ImplicitTls {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_read(cx, buf)
    }
}

impl AsyncWrite for ImplicitTls {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().0).poll_write(cx, buf)
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_flush(cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_shutdown(cx)
    }
}

impl AsyncTokioStream for ImplicitTls {
    fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.0.get_ref().get_ref().get_ref().peer_addr()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_chooses_the_security() {
        let target = SmtpTarget::parse("smtp://127.0.0.1:2525", None).expect("valid");
        assert_eq!((target.port, target.security), (2525, Security::Plain));
        let target =
            SmtpTarget::parse("smtp://relay.example.be:587?tls=required", None).expect("valid");
        assert_eq!(target.security, Security::StartTls);
        let target = SmtpTarget::parse("smtps://relay.example.be", None).expect("valid");
        assert_eq!((target.port, target.security), (465, Security::Implicit));
        assert!(SmtpTarget::parse("http://relay", None).is_err());
        assert!(SmtpTarget::parse("smtp://relay?tls=maybe", None).is_err());
    }

    #[test]
    fn the_password_comes_from_the_environment_and_is_never_printed() {
        let target =
            SmtpTarget::parse("smtp://crisis@relay:587", Some("s3cret".into())).expect("valid");
        assert!(target.credentials.is_some());
        assert!(!format!("{target:?}").contains("s3cret"));
        assert!(SmtpTarget::parse("smtp://crisis@relay:587", None).is_err());
    }
}
