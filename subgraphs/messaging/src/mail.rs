//! Email delivery: the mails that identity's link events ask for, written to the email
//! outbox in the consumer's transaction and delivered by the [`Mailer`] in the
//! background, over SMTP when `AGORA_SMTP_URL` is set and into a dev mailbox (a folder of
//! `.eml` files under the data directory, and a log line with the link) when it is not.
//!
//! A failed attempt is retried with a doubling delay, indefinitely: a mail leaves the
//! outbox only once the server accepted it.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use agora_kit::Settings;
use agora_kit::events::Backoff;
use agora_kit::settings::SettingsError;
use chrono::Utc;
use lettre::message::header::ContentTransferEncoding;
use lettre::message::header::ContentType;
use lettre::message::{Body, Mailbox, Message};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use sea_orm::{DatabaseConnection, DbErr};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::store::email;

/// How long one attempt may hold a mail before another instance may try it.
const LEASE: Duration = Duration::from_secs(60);
/// How many due mails one pass takes.
const BATCH: u64 = 20;
/// The longest the mailer sleeps without looking for due mails.
const IDLE: Duration = Duration::from_secs(30);

/// Messaging's mail settings, beside the kit's.
#[derive(Clone, Debug)]
pub struct MailSettings {
    /// The SMTP server (`AGORA_SMTP_URL`), e.g. `smtp://user:pass@host:587?tls=required`
    /// or `smtps://host`; unset writes mails to [`MailSettings::mailbox`] instead.
    pub smtp_url: Option<String>,
    /// The sender (`AGORA_MAIL_FROM`, default `Agora <no-reply@agora.localhost>`).
    pub from: String,
    /// The web app the links open (`AGORA_WEB_URL`, default `http://localhost:3000`):
    /// `<web>/reset-password?token=…` and `<web>/verify-email?token=…`.
    pub web_url: String,
    /// The dev mailbox, `<data dir>/mailbox`, used without SMTP.
    pub mailbox: PathBuf,
    /// The delays between attempts at one mail (5 s doubling up to an hour).
    pub retry: Backoff,
}

impl MailSettings {
    /// Reads the mail settings from the environment.
    pub fn from_env(settings: &Settings) -> Self {
        Self::from_lookup(settings, |key| std::env::var(key).ok())
    }

    /// Reads the mail settings through `lookup`, so tests need not touch the environment.
    pub fn from_lookup(settings: &Settings, lookup: impl Fn(&str) -> Option<String>) -> Self {
        let set = |key: &str| lookup(key).filter(|value| !value.trim().is_empty());
        Self {
            smtp_url: set("AGORA_SMTP_URL"),
            from: set("AGORA_MAIL_FROM")
                .unwrap_or_else(|| "Agora <no-reply@agora.localhost>".to_owned()),
            web_url: set("AGORA_WEB_URL")
                .map(|url| url.trim_end_matches('/').to_owned())
                .unwrap_or_else(|| "http://localhost:3000".to_owned()),
            mailbox: settings.data_dir.join("mailbox"),
            retry: Backoff::new(Duration::from_secs(5), Duration::from_secs(3600)),
        }
    }
}

/// The kinds of mail, each with its subject and text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A link to set a new password.
    PasswordReset,
    /// A link to prove an address.
    EmailVerification,
}

impl Kind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::PasswordReset => "password_reset",
            Kind::EmailVerification => "email_verification",
        }
    }

    /// The web app's path that takes the token.
    fn path(self) -> &'static str {
        match self {
            Kind::PasswordReset => "reset-password",
            Kind::EmailVerification => "verify-email",
        }
    }

    /// The subject and the body of the mail to `handle` with `link`.
    fn render(self, handle: &str, link: &str) -> (String, String) {
        match self {
            Kind::PasswordReset => (
                "Reset your Agora password".to_owned(),
                format!(
                    "Hi @{handle},\r\n\r\nSomeone, hopefully you, asked to reset the password of \
                     your Agora account. Follow this link within 30 minutes to choose a new \
                     one:\r\n\r\n{link}\r\n\r\nThe link works once. If you did not ask, ignore \
                     this mail: your password stays as it is.\r\n"
                ),
            ),
            Kind::EmailVerification => (
                "Confirm your email address for Agora".to_owned(),
                format!(
                    "Hi @{handle},\r\n\r\nFollow this link to confirm that this address is \
                     yours:\r\n\r\n{link}\r\n\r\nThe link works once, for 48 hours. If you did not \
                     sign up for Agora or change your email there, ignore this mail.\r\n"
                ),
            ),
        }
    }
}

/// A mail to queue: the link of `kind` with `token`, for `user` (`handle`) at `to`.
pub struct LinkMail<'a> {
    /// The event that asked for it.
    pub event_id: Uuid,
    /// What it is.
    pub kind: Kind,
    /// The account.
    pub user_id: Uuid,
    /// Its handle.
    pub handle: &'a str,
    /// The address.
    pub to: &'a str,
    /// The link's token.
    pub token: &'a str,
}

impl LinkMail<'_> {
    /// The outbox row of this mail, with its link into `web_url`, due now.
    pub fn row(&self, web_url: &str) -> email::Model {
        let link = format!("{web_url}/{}?token={}", self.kind.path(), self.token);
        let (subject, body) = self.kind.render(self.handle, &link);
        let now = agora_kit::db::micros(Utc::now());
        email::Model {
            id: Uuid::now_v7(),
            event_id: self.event_id,
            user_id: self.user_id,
            kind: self.kind.as_str().to_owned(),
            recipient: self.to.to_owned(),
            subject,
            body,
            link,
            created_at: now,
            attempts: 0,
            next_attempt_at: now,
            last_error: None,
            sent_at: None,
        }
    }
}

/// Why a mail could not be handed over (retried later).
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The mail could not be built (an address lettre refuses).
    #[error("mail not built: {0}")]
    Build(String),
    /// The SMTP server refused or could not be reached.
    #[error("smtp: {0}")]
    Smtp(#[from] lettre::transport::smtp::Error),
    /// The dev mailbox could not be written.
    #[error("mailbox: {0}")]
    Io(#[from] std::io::Error),
}

/// Where mails go.
enum Transport {
    /// An SMTP server.
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// A folder of `.eml` files.
    Mailbox(PathBuf),
}

/// Delivers the email outbox.
pub struct Mailer {
    db: DatabaseConnection,
    transport: Transport,
    from: Mailbox,
    retry: Backoff,
    waker: Arc<Notify>,
}

impl Mailer {
    /// A mailer of `db`'s outbox with `settings`; an unusable SMTP URL or sender is an
    /// error now rather than at the first mail.
    pub fn new(db: DatabaseConnection, settings: &MailSettings) -> Result<Self, SettingsError> {
        let transport = match &settings.smtp_url {
            Some(url) => Transport::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|e| SettingsError {
                        name: "AGORA_SMTP_URL".to_owned(),
                        reason: e.to_string(),
                    })?
                    .timeout(Some(Duration::from_secs(30)))
                    .build(),
            ),
            None => Transport::Mailbox(settings.mailbox.clone()),
        };
        let from = settings.from.parse().map_err(|e| SettingsError {
            name: "AGORA_MAIL_FROM".to_owned(),
            reason: format!("{e}"),
        })?;
        Ok(Self {
            db,
            transport,
            from,
            retry: settings.retry,
            waker: Arc::new(Notify::new()),
        })
    }

    /// Wakes the mailer: a mail was queued.
    pub fn waker(&self) -> Arc<Notify> {
        self.waker.clone()
    }

    /// Tries every mail that is due now once; returns how many were handed over.
    pub async fn deliver_due(&self) -> Result<usize, DbErr> {
        let mut sent = 0;
        loop {
            let now = Utc::now();
            let due = email::due(&self.db, now, BATCH).await?;
            let batch = due.len();
            for mail in due {
                let lease = chrono::Duration::from_std(LEASE).unwrap_or_default();
                if !email::claim(&self.db, mail.id, now, lease).await? {
                    continue;
                }
                match self.send(&mail).await {
                    Ok(()) => {
                        email::mark_sent(&self.db, mail.id, Utc::now()).await?;
                        sent += 1;
                    }
                    Err(error) => {
                        let attempts = mail.attempts.saturating_add(1);
                        let delay = self.retry.delay(u32::try_from(attempts).unwrap_or(1));
                        let retry_at =
                            Utc::now() + chrono::Duration::from_std(delay).unwrap_or_default();
                        tracing::warn!(mail = %mail.id, attempts, error = %error, "mail not sent; will retry");
                        email::mark_failed(
                            &self.db,
                            mail.id,
                            attempts,
                            retry_at,
                            &error.to_string(),
                        )
                        .await?;
                    }
                }
            }
            if (batch as u64) < BATCH {
                return Ok(sent);
            }
        }
    }

    /// Delivers due mails until `stop`, waking when a mail is queued or the next retry
    /// is due.
    pub async fn run(self, stop: CancellationToken) {
        loop {
            if let Err(error) = self.deliver_due().await {
                tracing::warn!(error = %error, "mail outbox unreadable; will retry");
            }
            let wait = match email::next_due(&self.db).await {
                Ok(Some(at)) => (at - Utc::now()).to_std().unwrap_or_default().min(IDLE),
                Ok(None) | Err(_) => IDLE,
            };
            tokio::select! {
                () = stop.cancelled() => return,
                () = self.waker.notified() => {}
                () = tokio::time::sleep(wait.max(Duration::from_millis(10))) => {}
            }
        }
    }

    /// Hands one mail to the transport.
    async fn send(&self, mail: &email::Model) -> Result<(), MailError> {
        let to: Mailbox = mail
            .recipient
            .parse()
            .map_err(|e| MailError::Build(format!("{e}")))?;
        let message = Message::builder()
            .message_id(Some(format!("<{}@agora>", mail.id)))
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject.clone())
            .header(ContentType::TEXT_PLAIN)
            .body(body(&mail.body))
            .map_err(|e| MailError::Build(e.to_string()))?;
        match &self.transport {
            Transport::Smtp(smtp) => {
                smtp.send(message).await?;
            }
            Transport::Mailbox(dir) => {
                tokio::fs::create_dir_all(dir).await?;
                let name = format!(
                    "{}-{}.eml",
                    mail.created_at.format("%Y%m%dT%H%M%S"),
                    mail.id
                );
                // Written whole under a temporary name, so a reader never sees half a mail.
                let partial = dir.join(format!(".{name}.partial"));
                tokio::fs::write(&partial, message.formatted()).await?;
                tokio::fs::rename(&partial, dir.join(&name)).await?;
                tracing::info!(to = %mail.recipient, subject = %mail.subject, link = %mail.link, file = %name, "dev mailbox: mail written");
            }
        }
        Ok(())
    }
}

/// The body as plain 7-bit text when it is one (ASCII, CRLF lines within RFC 5322's 998
/// characters), so that links stay whole and copyable in any mail client and in the dev
/// mailbox; lettre alone would quote-print every line past 76 characters, links included.
fn body(text: &str) -> Body {
    let plain = text.is_ascii()
        && !text.contains('\0')
        && text
            .split("\r\n")
            .all(|line| line.len() <= 998 && !line.contains(['\r', '\n']));
    if plain {
        Body::dangerous_pre_encoded(text.as_bytes().to_vec(), ContentTransferEncoding::SevenBit)
    } else {
        Body::new(text.to_owned())
    }
}
