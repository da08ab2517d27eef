//! `DATABASE_URL` for SQL Server, in either of two forms (see the module docs of
//! [`crate::adapters::mssql`]): an ADO.NET connection string, parsed by tiberius, or an
//! `mssql://` URL, converted here. Errors name what is wrong, never a value: the string holds a
//! password.

use std::borrow::Cow;

use anyhow::{Context as _, anyhow, bail};
use percent_encoding::percent_decode_str;
use tiberius::{AuthMethod, Config, EncryptionLevel};
use url::{Host, Url};

const DEFAULT_PORT: u16 = 1433;

/// Parses `DATABASE_URL` into a tiberius configuration. Strings that start with `mssql://` are
/// URLs; anything else is an ADO.NET connection string.
///
/// # Errors
/// When the string is neither; the message says why without repeating any of it.
pub fn parse(database_url: &str) -> anyhow::Result<Config> {
    let trimmed = database_url.trim();
    let is_url = trimmed
        .get(..8)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("mssql://"));
    if is_url {
        from_url(trimmed)
    } else {
        // tiberius' parse errors are fixed texts ("Server value faulty.", "Not a valid
        // boolean", ...) and never quote the string: the `secret_never_in_errors` test holds
        // it to that.
        Config::from_ado_string(trimmed)
            .map_err(|err| anyhow!("{err}"))
            .context("not a valid ADO.NET connection string (server=tcp:host,1433;...)")
    }
}

fn from_url(raw: &str) -> anyhow::Result<Config> {
    // `url`'s errors are fixed texts too ("invalid port number", ...).
    let url = Url::parse(raw).context("not a valid mssql:// URL")?;
    let mut config = Config::new();

    let host = match url.host() {
        Some(Host::Domain(name)) if !name.is_empty() => name.to_owned(),
        Some(Host::Ipv4(ip)) => ip.to_string(),
        Some(Host::Ipv6(ip)) => ip.to_string(),
        _ => bail!("the mssql:// URL has no host"),
    };
    config.host(host);
    config.port(url.port().unwrap_or(DEFAULT_PORT));

    if url.username().is_empty() {
        bail!("the mssql:// URL has no user: mssql://user:password@host:1433/database");
    }
    let (user, password) = credentials(&url)?;
    config.authentication(AuthMethod::sql_server(user.as_ref(), password.as_ref()));

    let database = decode(url.path().trim_start_matches('/'), "the database name")?;
    if database.contains('/') {
        bail!("the mssql:// URL's path must be one database name");
    }
    if !database.is_empty() {
        config.database(database.as_ref());
    }

    let mut trust_server_certificate = false;
    let mut ca_file = None;
    for (key, value) in url.query_pairs() {
        match key.as_ref() {
            "trust_server_certificate" => {
                trust_server_certificate = flag(&value, "trust_server_certificate")?;
            }
            "trust_server_certificate_ca" => ca_file = Some(value.into_owned()),
            "encrypt" => config.encryption(match value.to_ascii_lowercase().as_str() {
                "true" | "yes" => EncryptionLevel::Required,
                "false" | "no" => EncryptionLevel::Off,
                "strict" => EncryptionLevel::Strict,
                _ => bail!("encrypt must be true, false or strict"),
            }),
            "application_name" => config.application_name(value),
            // The name is not echoed: in a mangled URL it could be part of the password.
            _ => bail!(
                "unknown mssql:// URL parameter (known: encrypt, trust_server_certificate, \
                 trust_server_certificate_ca, application_name)"
            ),
        }
    }
    // tiberius panics when both are set; refuse the combination instead, as its ADO parser does.
    match (trust_server_certificate, ca_file) {
        (true, Some(_)) => {
            bail!("trust_server_certificate and trust_server_certificate_ca are mutually exclusive")
        }
        (true, None) => config.trust_cert(),
        (false, Some(path)) => config.trust_cert_ca(path),
        (false, None) => {}
    }
    Ok(config)
}

/// The user and password of the URL, percent-decoded (`p%40ss` is `p@ss`).
fn credentials(url: &Url) -> anyhow::Result<(Cow<'_, str>, Cow<'_, str>)> {
    let user = decode(url.username(), "the user")?;
    let password = decode(url.password().unwrap_or(""), "the password")?;
    Ok((user, password))
}

fn decode<'a>(raw: &'a str, what: &str) -> anyhow::Result<Cow<'a, str>> {
    percent_decode_str(raw)
        .decode_utf8()
        .map_err(|_| anyhow!("{what} in the mssql:// URL is not UTF-8 once percent-decoded"))
}

fn flag(value: &str, name: &str) -> anyhow::Result<bool> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "yes" => Ok(true),
        "false" | "no" => Ok(false),
        _ => bail!("{name} must be true or false"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a `Config` says about itself, for comparison: its Debug output carries every
    /// setting (credentials redacted), and `get_addr` the address.
    fn describe(config: &Config) -> String {
        format!("{config:?}")
    }

    fn parsed(raw: &str) -> Config {
        match parse(raw) {
            Ok(config) => config,
            Err(err) => panic!("parse failed: {err:#}"),
        }
    }

    fn refused(raw: &str) -> String {
        match parse(raw) {
            Ok(config) => panic!("parse accepted it: {config:?}"),
            Err(err) => format!("{err:#}"),
        }
    }

    #[test]
    fn ado_form_is_parsed_by_tiberius() {
        let config = parsed(
            "server=tcp:db.example.com,1444;database=rookery;user=sa;password=S3cret;\
             TrustServerCertificate=true",
        );
        assert_eq!(config.get_addr(), "db.example.com:1444");
        let text = describe(&config);
        assert!(text.contains("database: Some(\"rookery\")"), "{text}");
        assert!(text.contains("bypass: true"), "{text}");
        assert!(text.contains("Required"), "{text}");
        assert!(!text.contains("S3cret"), "{text}");
    }

    #[test]
    fn ado_form_as_ci_gives_it() {
        // .github/workflows/ci.yml's TEST_DATABASE_URL: no database (the tests create theirs).
        let config =
            parsed("server=tcp:127.0.0.1,1433;user=sa;password=x;TrustServerCertificate=true");
        assert_eq!(config.get_addr(), "127.0.0.1:1433");
        assert!(describe(&config).contains("database: None"));
    }

    #[test]
    fn url_form_is_converted() {
        let config = parsed(
            "mssql://rookery:p%40ss%3Aw%2Frd%25@db.example.com:1444/rookery?trust_server_certificate=true",
        );
        assert_eq!(config.get_addr(), "db.example.com:1444");
        let text = describe(&config);
        assert!(text.contains("database: Some(\"rookery\")"), "{text}");
        assert!(text.contains("bypass: true"), "{text}");
        // Encrypted by default, like the ADO form.
        assert!(text.contains("Required"), "{text}");
    }

    #[test]
    fn url_form_decodes_user_and_password_exactly() -> anyhow::Result<()> {
        let raw = "mssql://app%2Buser:p%40ss%3Bw%C3%B6rd%20%2F%3F%23@localhost/rookery";
        let url = Url::parse(raw)?;
        let (user, password) = credentials(&url)?;
        assert_eq!(user, "app+user");
        assert_eq!(password, "p@ss;wörd /?#");
        // And the configuration built from it is the one built by hand (Debug redacts the
        // password, so this compares everything else).
        let mut want = Config::new();
        want.host("localhost");
        want.port(1433);
        want.authentication(AuthMethod::sql_server("app+user", "p@ss;wörd /?#"));
        want.database("rookery");
        assert_eq!(describe(&parsed(raw)), describe(&want));
        Ok(())
    }

    #[test]
    fn url_form_defaults_and_options() {
        let config = parsed("MSSQL://sa:pw@[::1]");
        assert_eq!(config.get_addr(), "::1:1433");
        assert!(describe(&config).contains("database: None"));

        let config = parsed("mssql://sa:pw@host/db?encrypt=false&application_name=rookery-api");
        let text = describe(&config);
        assert!(text.contains("encryption: Off"), "{text}");
        assert!(text.contains("rookery-api"), "{text}");

        let config = parsed("mssql://sa:pw@host/db?encrypt=strict");
        assert!(describe(&config).contains("Strict"));

        let config = parsed("mssql://sa:pw@host/db?trust_server_certificate_ca=/etc/ssl/ca.pem");
        assert!(describe(&config).contains("/etc/ssl/ca.pem"));
    }

    #[test]
    fn bad_urls_are_refused_with_reasons() {
        for (raw, reason) in [
            ("mssql://host/db", "no user"),
            ("mssql://sa:pw@/db", "host"),
            ("mssql://sa:pw@host:99999/db", "port"),
            ("mssql://sa:pw@host/a/b", "one database name"),
            ("mssql://sa:pw@host/db?encrypt=maybe", "encrypt must be"),
            (
                "mssql://sa:pw@host/db?trust_server_certificate=1",
                "true or false",
            ),
            (
                "mssql://sa:pw@host/db?sslmode=require",
                "unknown mssql:// URL parameter",
            ),
            (
                "server=tcp:host,1433;TrustServerCertificate=maybe",
                "ADO.NET",
            ),
            ("mssql://sa:%FF@host/db", "not UTF-8"),
            (
                "mssql://sa:pw@host/db?trust_server_certificate=true&trust_server_certificate_ca=x",
                "mutually exclusive",
            ),
        ] {
            let err = refused(raw);
            assert!(err.contains(reason), "{raw}: {err}");
        }
    }

    #[test]
    fn secret_never_in_errors() {
        let secret = "Sup3r-Secret-Pw";
        for raw in [
            format!("server=tcp:host,notaport;user=sa;password={secret}"),
            format!("server=tcp:host,1433;user=sa;password={secret};TrustServerCertificate=maybe"),
            format!("server=tcp:host,1433;user=sa;password={secret};encrypt=sometimes"),
            format!("server=tcp:host,1433;user=sa;password={{{secret};x=y"),
            format!("server=tcp:a,b,c;user=sa;password={secret}"),
            format!("user=sa;password=\"{secret}"),
            format!("user=sa;password={secret}é"),
            format!("mssql://sa:{secret}@host:notaport/db"),
            format!("mssql://sa:{secret}@host/db?encrypt={secret}"),
            format!("mssql://sa:{secret}@host/db?{secret}=1"),
            format!("mssql://sa:{secret}%FF@host/db"),
        ] {
            let err = refused(&raw);
            assert!(
                !err.contains(secret),
                "the secret leaked for {raw:?}: {err}"
            );
        }
    }
}
