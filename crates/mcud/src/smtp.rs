//! A small SMTP client for the booking notifications (R9): one message per
//! connection — greeting, `EHLO`, `STARTTLS` when the server offers it (or
//! TLS from the start for `smtps://`), `AUTH PLAIN` when the URL carries
//! credentials (never over a connection without TLS), `MAIL FROM`,
//! `RCPT TO`, `DATA`, `QUIT`.
//!
//! The message is `text/plain; charset=utf-8` with a base64 body (no 8-bit
//! transport needed, no line can start with a dot) and a subject and
//! recipient name encoded per RFC 2047, so Vietnamese text arrives intact.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::notify::{io_reason, split_host_port};

/// How long one e-mail may take, connection to `QUIT`.
pub const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// Longest reply line accepted (RFC 5321 says 512; generous).
const MAX_LINE: usize = 4096;

/// The mail server, parsed from `smtp_url`.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpTarget {
    /// `smtps://`: TLS from the first byte.
    pub implicit_tls: bool,
    /// Host name or address.
    pub host: String,
    /// Port (25 for `smtp://`, 465 for `smtps://` by default).
    pub port: u16,
    /// `AUTH PLAIN` user and password, if given.
    pub credentials: Option<(String, String)>,
}

impl std::fmt::Debug for SmtpTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the password.
        f.debug_struct("SmtpTarget")
            .field("implicit_tls", &self.implicit_tls)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.credentials.as_ref().map(|c| &c.0))
            .finish()
    }
}

fn percent_decode(s: &str) -> Result<String, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3).ok_or("bad % escape in the URL")?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| "bad % escape in the URL")?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "the URL's credentials are not UTF-8".into())
}

impl SmtpTarget {
    /// Parses `smtp://[user:password@]host[:port]` or `smtps://…`
    /// (percent-escapes allowed in user and password).
    pub fn parse(url: &str) -> Result<Self, String> {
        let (implicit_tls, rest) = if let Some(r) = url.strip_prefix("smtps://") {
            (true, r)
        } else if let Some(r) = url.strip_prefix("smtp://") {
            (false, r)
        } else {
            return Err("not an smtp:// or smtps:// URL".into());
        };
        let rest = rest.trim_end_matches('/');
        let (credentials, authority) = match rest.rsplit_once('@') {
            Some((userinfo, authority)) => {
                let (user, password) = userinfo
                    .split_once(':')
                    .ok_or("credentials must be user:password")?;
                (
                    Some((percent_decode(user)?, percent_decode(password)?)),
                    authority,
                )
            }
            None => (None, rest),
        };
        let (host, port) = split_host_port(authority, if implicit_tls { 465 } else { 25 })?;
        Ok(Self {
            implicit_tls,
            host,
            port,
            credentials,
        })
    }
}

/// Checks a mailbox address: `local@domain`, no spaces, controls or brackets.
pub fn check_address(a: &str) -> Result<(), String> {
    let ok = a.len() <= 254
        && a.split('@').count() == 2
        && a.split('@').all(|p| !p.is_empty())
        && !a
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || matches!(c, '<' | '>' | ',' | ';'));
    if ok {
        Ok(())
    } else {
        Err(format!("{a:?} is not an e-mail address"))
    }
}

/// One e-mail.
#[derive(Clone, Debug)]
pub struct Mail<'a> {
    /// Sender address.
    pub from: &'a str,
    /// Recipient address.
    pub to: &'a str,
    /// Recipient's name (Unicode).
    pub to_name: &'a str,
    /// Subject (Unicode).
    pub subject: &'a str,
    /// Plain text body (Unicode, `\n` line ends).
    pub body: &'a str,
    /// Left part of the Message-ID.
    pub message_id: &'a str,
    /// Date header, Unix ms.
    pub date_ms: i64,
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding.
pub fn base64(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A header value as RFC 2047 encoded words (`=?UTF-8?B?…?=`), folded so no
/// line passes 76 characters; plain ASCII without specials stays as is.
pub fn encode_words(text: &str) -> String {
    if text.chars().all(|c| c.is_ascii_graphic() || c == ' ')
        && !text.contains("=?")
        && text.len() <= 60
    {
        return text.to_owned();
    }
    let mut words = Vec::new();
    let mut chunk = String::new();
    for c in text.chars() {
        // 45 bytes of UTF-8 → 60 characters of base64 per word; a
        // character is never split between words.
        if chunk.len() + c.len_utf8() > 45 {
            words.push(format!("=?UTF-8?B?{}?=", base64(chunk.as_bytes())));
            chunk.clear();
        }
        chunk.push(c);
    }
    if !chunk.is_empty() || words.is_empty() {
        words.push(format!("=?UTF-8?B?{}?=", base64(chunk.as_bytes())));
    }
    words.join("\r\n ")
}

/// `Fri, 20 Nov 2026 09:00:00 +0000`.
fn rfc5322_date(ms: i64) -> String {
    let c = mcu_control::civil::civil(ms, 0);
    const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{}, {:02} {} {:04} {:02}:{:02}:{:02} +0000",
        WEEKDAYS[c.weekday as usize],
        c.day,
        MONTHS[(c.month - 1) as usize],
        c.year,
        c.hour,
        c.minute,
        c.second
    )
}

/// The message as sent after `DATA` (without the final `.`): CRLF line
/// ends, base64 body in 76-character lines.
pub fn message_text(mail: &Mail<'_>) -> String {
    let domain = mail.from.rsplit('@').next().unwrap_or("mcud");
    let mut m = String::new();
    m.push_str(&format!("From: <{}>\r\n", mail.from));
    m.push_str(&format!(
        "To: {} <{}>\r\n",
        encode_words(mail.to_name),
        mail.to
    ));
    m.push_str(&format!("Subject: {}\r\n", encode_words(mail.subject)));
    m.push_str(&format!("Date: {}\r\n", rfc5322_date(mail.date_ms)));
    m.push_str(&format!("Message-ID: <{}@{domain}>\r\n", mail.message_id));
    m.push_str("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n");
    m.push_str("Content-Transfer-Encoding: base64\r\n\r\n");
    let body = mail.body.replace("\r\n", "\n").replace('\n', "\r\n");
    let encoded = base64(body.as_bytes());
    for line in encoded.as_bytes().chunks(76) {
        // base64 is ASCII.
        m.push_str(std::str::from_utf8(line).unwrap_or_default());
        m.push_str("\r\n");
    }
    m
}

/// One SMTP conversation over a stream.
struct Conn<S> {
    s: S,
    buf: Vec<u8>,
    what: String,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Conn<S> {
    async fn line(&mut self) -> Result<String, String> {
        loop {
            if let Some(i) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line: Vec<u8> = self.buf.drain(..i + 2).collect();
                return Ok(String::from_utf8_lossy(&line[..i]).into_owned());
            }
            if self.buf.len() > MAX_LINE {
                return Err(format!("{}: reply line too long", self.what));
            }
            let mut chunk = [0u8; 1024];
            let n = self
                .s
                .read(&mut chunk)
                .await
                .map_err(|e| format!("{}: {}", self.what, io_reason(&e)))?;
            if n == 0 {
                return Err(format!("{}: the server closed the connection", self.what));
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// A whole (multi-line) reply: its code and its lines' texts.
    async fn reply(&mut self) -> Result<(u16, Vec<String>), String> {
        let mut lines = Vec::new();
        loop {
            let line = self.line().await?;
            let code = line
                .get(..3)
                .and_then(|c| c.parse::<u16>().ok())
                .ok_or_else(|| format!("{}: not an SMTP reply: {line:?}", self.what))?;
            let more = line.as_bytes().get(3) == Some(&b'-');
            lines.push(line.get(4..).unwrap_or_default().to_owned());
            if !more {
                return Ok((code, lines));
            }
        }
    }

    async fn send(&mut self, data: &str) -> Result<(), String> {
        self.s
            .write_all(data.as_bytes())
            .await
            .map_err(|e| format!("{}: {}", self.what, io_reason(&e)))?;
        self.s
            .flush()
            .await
            .map_err(|e| format!("{}: {}", self.what, io_reason(&e)))
    }

    /// Sends a command (`shown` in errors: never a password) and expects one of `ok`.
    async fn command(&mut self, cmd: &str, shown: &str, ok: &[u16]) -> Result<Vec<String>, String> {
        self.send(&format!("{cmd}\r\n")).await?;
        let (code, lines) = self.reply().await?;
        if ok.contains(&code) {
            Ok(lines)
        } else {
            Err(format!(
                "{}: {shown} answered {code} {}",
                self.what,
                lines.join(" ")
            ))
        }
    }

    async fn expect_greeting(&mut self) -> Result<(), String> {
        let (code, lines) = self.reply().await?;
        if code == 220 {
            Ok(())
        } else {
            Err(format!(
                "{}: greeting {code} {}",
                self.what,
                lines.join(" ")
            ))
        }
    }

    async fn ehlo(&mut self) -> Result<Vec<String>, String> {
        self.command("EHLO mcud", "EHLO", &[250]).await
    }

    /// Authentication (when asked), then the envelope and the message.
    async fn transaction(&mut self, target: &SmtpTarget, mail: &Mail<'_>) -> Result<(), String> {
        if let Some((user, password)) = &target.credentials {
            let token = base64(format!("\0{user}\0{password}").as_bytes());
            self.command(&format!("AUTH PLAIN {token}"), "AUTH PLAIN", &[235])
                .await?;
        }
        self.command(&format!("MAIL FROM:<{}>", mail.from), "MAIL FROM", &[250])
            .await?;
        self.command(&format!("RCPT TO:<{}>", mail.to), "RCPT TO", &[250, 251])
            .await?;
        self.command("DATA", "DATA", &[354]).await?;
        self.send(&message_text(mail)).await?;
        self.command(".", "the message", &[250]).await?;
        // The message is accepted; a QUIT that fails changes nothing.
        let _ = self.command("QUIT", "QUIT", &[221]).await;
        Ok(())
    }
}

async fn tls_connect(
    target: &SmtpTarget,
    tls: Option<&Arc<rustls::ClientConfig>>,
    tcp: TcpStream,
    what: &str,
) -> Result<tokio_rustls::client::TlsStream<TcpStream>, String> {
    let config = tls.ok_or_else(|| format!("{what}: TLS is not available"))?;
    let name = rustls::pki_types::ServerName::try_from(target.host.clone())
        .map_err(|e| format!("{what}: {e}"))?;
    tokio_rustls::TlsConnector::from(config.clone())
        .connect(name, tcp)
        .await
        .map_err(|e| format!("{what}: TLS: {e}"))
}

/// Sends one e-mail; `Ok` once the server accepted the message.
pub async fn send(
    target: &SmtpTarget,
    tls: Option<&Arc<rustls::ClientConfig>>,
    mail: &Mail<'_>,
) -> Result<(), String> {
    check_address(mail.to).map_err(|e| format!("recipient: {e}"))?;
    check_address(mail.from).map_err(|e| format!("sender: {e}"))?;
    let what = format!("smtp {}:{}", target.host, target.port);
    let tcp = TcpStream::connect((target.host.as_str(), target.port))
        .await
        .map_err(|e| format!("{what}: {}", io_reason(&e)))?;
    if target.implicit_tls {
        let s = tls_connect(target, tls, tcp, &what).await?;
        let mut c = Conn {
            s,
            buf: Vec::new(),
            what,
        };
        c.expect_greeting().await?;
        c.ehlo().await?;
        return c.transaction(target, mail).await;
    }
    let mut c = Conn {
        s: tcp,
        buf: Vec::new(),
        what: what.clone(),
    };
    c.expect_greeting().await?;
    let caps = c.ehlo().await?;
    if caps.iter().any(|l| l.eq_ignore_ascii_case("STARTTLS")) {
        c.command("STARTTLS", "STARTTLS", &[220]).await?;
        let s = tls_connect(target, tls, c.s, &what).await?;
        let mut c = Conn {
            s,
            buf: Vec::new(),
            what,
        };
        c.ehlo().await?;
        c.transaction(target, mail).await
    } else if target.credentials.is_some() {
        Err(format!(
            "{what}: the server offers no STARTTLS; the password is not sent in clear"
        ))
    } else {
        c.transaction(target, mail).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_with_escaped_credentials_and_never_show_the_password() {
        let t = SmtpTarget::parse("smtp://thongbao%40tq:m%E1%BA%ADt@mail.tuyenquang.gov.vn:587")
            .unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.implicit_tls),
            ("mail.tuyenquang.gov.vn", 587, false)
        );
        assert_eq!(
            t.credentials,
            Some(("thongbao@tq".to_string(), "mật".to_string()))
        );
        assert!(!format!("{t:?}").contains("mật"));
        let t = SmtpTarget::parse("smtps://mail.gov.vn").unwrap();
        assert_eq!((t.port, t.implicit_tls, t.credentials), (465, true, None));
        assert_eq!(SmtpTarget::parse("smtp://127.0.0.1").unwrap().port, 25);
        for bad in ["http://x", "smtp://user@host", "smtp://", "smtp://h:x"] {
            assert!(SmtpTarget::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn base64_and_encoded_words() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64("\0u\0p".as_bytes()), "AHUAcA==");
        assert_eq!(encode_words("Hello"), "Hello");
        let subject = "Thông báo lịch hội nghị truyền hình: Hội nghị phòng chống lụt bão";
        let encoded = encode_words(subject);
        let mut decoded = Vec::new();
        for word in encoded.split("\r\n ") {
            assert!(word.len() <= 75, "{word}");
            let b64 = word
                .strip_prefix("=?UTF-8?B?")
                .and_then(|w| w.strip_suffix("?="))
                .unwrap();
            decoded.extend(decode(b64));
        }
        assert_eq!(
            String::from_utf8(decoded).unwrap(),
            subject,
            "no character split"
        );
    }

    fn decode(s: &str) -> Vec<u8> {
        let val = |c: u8| B64.iter().position(|&b| b == c).unwrap() as u32;
        let mut out = Vec::new();
        for chunk in s.as_bytes().chunks(4) {
            let pad = chunk.iter().filter(|&&c| c == b'=').count();
            let n = chunk
                .iter()
                .map(|&c| if c == b'=' { 0 } else { val(c) })
                .fold(0, |acc, v| (acc << 6) | v);
            out.extend(&n.to_be_bytes()[1..4 - pad]);
        }
        out
    }

    #[test]
    fn the_message_has_encoded_headers_and_a_base64_body() {
        let mail = Mail {
            from: "mcu@tuyenquang.gov.vn",
            to: "huong@sonduong.gov.vn",
            to_name: "Trần Thị Hương",
            subject: "Thông báo",
            body: "Kính gửi\nBắt đầu: 20/11/2026 16:00\n",
            message_id: "outbox-7",
            date_ms: 1_795_165_200_000,
        };
        let text = message_text(&mail);
        assert!(
            text.contains("Date: Fri, 20 Nov 2026 09:00:00 +0000\r\n"),
            "{text}"
        );
        assert!(text.contains("Message-ID: <outbox-7@tuyenquang.gov.vn>\r\n"));
        assert!(text.contains(" <huong@sonduong.gov.vn>\r\n"));
        assert!(text.is_ascii(), "8-bit clean");
        let body = text.split("\r\n\r\n").nth(1).unwrap().replace("\r\n", "");
        assert_eq!(
            String::from_utf8(decode(&body)).unwrap(),
            "Kính gửi\r\nBắt đầu: 20/11/2026 16:00\r\n"
        );
        assert!(check_address("a@b.vn").is_ok());
        for bad in ["a", "a@", "@b", "a b@c", "a@b@c", "<a@b>"] {
            assert!(check_address(bad).is_err(), "{bad}");
        }
    }
    /// A loopback SMTP sink without STARTTLS: answers the conversation and
    /// returns the commands and the DATA it received.
    async fn sink(listener: tokio::net::TcpListener) -> (Vec<String>, String) {
        let (s, _) = listener.accept().await.unwrap();
        let mut c = Conn {
            s,
            buf: Vec::new(),
            what: "sink".into(),
        };
        c.send("220 sink ESMTP\r\n").await.unwrap();
        let mut commands = Vec::new();
        let mut data = String::new();
        loop {
            let Ok(line) = c.line().await else { break };
            commands.push(line.clone());
            let answer = match line.split(' ').next().unwrap_or_default() {
                "EHLO" => "250-sink\r\n250 8BITMIME\r\n",
                "DATA" => {
                    c.send("354 go on\r\n").await.unwrap();
                    loop {
                        let l = c.line().await.unwrap();
                        if l == "." {
                            break;
                        }
                        data.push_str(&l);
                        data.push_str("\r\n");
                    }
                    "250 queued as 1\r\n"
                }
                "QUIT" => {
                    c.send("221 bye\r\n").await.unwrap();
                    break;
                }
                "RCPT" if line.contains("khong-co") => "550 no such user\r\n",
                _ => "250 ok\r\n",
            };
            c.send(answer).await.unwrap();
        }
        (commands, data)
    }

    fn mail<'a>(to: &'a str) -> Mail<'a> {
        Mail {
            from: "mcu@tuyenquang.gov.vn",
            to,
            to_name: "Trần Thị Hương",
            subject: "Thông báo lịch hội nghị truyền hình",
            body: "Bắt đầu chính thức: 20/11/2026 16:00\n",
            message_id: "outbox-9",
            date_ms: 0,
        }
    }

    #[tokio::test]
    async fn a_mail_goes_through_a_loopback_sink_and_a_refusal_is_an_error() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let got = tokio::spawn(sink(listener));
        let target = SmtpTarget::parse(&format!("smtp://127.0.0.1:{port}")).unwrap();
        send(&target, None, &mail("huong@sonduong.gov.vn"))
            .await
            .unwrap();
        let (commands, data) = got.await.unwrap();
        assert_eq!(
            commands,
            [
                "EHLO mcud",
                "MAIL FROM:<mcu@tuyenquang.gov.vn>",
                "RCPT TO:<huong@sonduong.gov.vn>",
                "DATA",
                "QUIT"
            ]
        );
        assert_eq!(data, message_text(&mail("huong@sonduong.gov.vn")));
        let body = data.split("\r\n\r\n").nth(1).unwrap().replace("\r\n", "");
        assert_eq!(
            String::from_utf8(decode(&body)).unwrap(),
            "Bắt đầu chính thức: 20/11/2026 16:00\r\n"
        );

        // A refused recipient is a failed attempt with the server's words.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let got = tokio::spawn(sink(listener));
        let target = SmtpTarget::parse(&format!("smtp://127.0.0.1:{port}")).unwrap();
        let err = send(&target, None, &mail("khong-co@sonduong.gov.vn"))
            .await
            .unwrap_err();
        assert!(err.contains("RCPT TO answered 550 no such user"), "{err}");
        drop(got);

        // Credentials are never sent over a connection without TLS.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let got = tokio::spawn(sink(listener));
        let target = SmtpTarget::parse(&format!("smtp://u:bi-mat@127.0.0.1:{port}")).unwrap();
        let err = send(&target, None, &mail("huong@sonduong.gov.vn"))
            .await
            .unwrap_err();
        assert!(err.contains("no STARTTLS"), "{err}");
        let (commands, _) = got.await.unwrap();
        assert!(commands.iter().all(|c| !c.contains("AUTH")), "{commands:?}");

        // Nobody listening: connection refused, named.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let target = SmtpTarget::parse(&format!("smtp://127.0.0.1:{port}")).unwrap();
        let err = send(&target, None, &mail("a@b.vn")).await.unwrap_err();
        assert!(err.contains("connection refused"), "{err}");
    }
}
