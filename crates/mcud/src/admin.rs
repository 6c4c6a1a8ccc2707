//! `mcud admin …`: account tasks done on the machine itself — above all the
//! first admin account, since the daemon ships with none.

use mcu_store::{NewUser, Role, Store};

use crate::config::Config;

/// What `mcud admin create-user` was asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAccount {
    /// Login name.
    pub username: String,
    /// Role.
    pub role: Role,
    /// Full name (defaults to the username).
    pub display_name: String,
    /// Endpoints of a site operator.
    pub endpoints: Vec<String>,
}

impl NewAccount {
    /// Parses `--username U --role R [--display-name N] [--endpoint E]…`;
    /// `--config` is skipped (the caller reads it).
    pub fn parse(args: &[String]) -> Result<Self, String> {
        let (mut username, mut role, mut display_name, mut endpoints) =
            (None, None, None, Vec::new());
        let mut it = args.iter();
        while let Some(flag) = it.next() {
            let mut value = || it.next().cloned().ok_or(format!("{flag} needs a value"));
            match flag.as_str() {
                "--username" => username = Some(value()?),
                "--role" => {
                    let v = value()?;
                    role = Some(v.parse::<Role>().map_err(|_| {
                        format!("--role takes admin, operator, site_operator or auditor, not {v:?}")
                    })?);
                }
                "--display-name" => display_name = Some(value()?),
                "--endpoint" => endpoints.push(value()?),
                "--config" => {
                    value()?;
                }
                other => return Err(format!("unknown option {other}")),
            }
        }
        let username = username.ok_or("--username is required")?;
        Ok(Self {
            display_name: display_name.unwrap_or_else(|| username.clone()),
            username,
            role: role.ok_or("--role is required")?,
            endpoints,
        })
    }
}

/// Creates an account in the configured database with the same rules as the API.
pub async fn create_user(
    config: &Config,
    account: &NewAccount,
    password: &str,
) -> Result<(), String> {
    mcu_control::auth::check_password_policy(password).map_err(|e| e.message)?;
    if !(3..=64).contains(&account.username.len())
        || !account.username.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
        })
    {
        return Err("username must be 3–64 characters from a-z 0-9 . _ -".into());
    }
    if (account.role == Role::SiteOperator) == account.endpoints.is_empty() {
        return Err("a site operator needs --endpoint (and only site operators take one)".into());
    }
    let url = config.server.database_url().map_err(|e| e.to_string())?;
    let store = Store::open(&url).await.map_err(|e| e.to_string())?;
    let hash = mcu_control::auth::hash_password(password).map_err(|e| e.message)?;
    let now = crate::server::wall_clock_ms();
    store
        .create_user(
            &NewUser {
                username: account.username.clone(),
                display_name: account.display_name.clone(),
                role: account.role,
                password_hash: hash,
                endpoints: account.endpoints.clone(),
            },
            now,
        )
        .await
        .map_err(|e| e.to_string())?;
    let entry = mcu_store::NewAuditEntry {
        at: now,
        actor: "(command line)".into(),
        role: "-".into(),
        action: "user.create".into(),
        target: format!("user/{}", account.username),
        from_addr: "localhost".into(),
        result: "ok".into(),
        details:
            serde_json::json!({ "role": account.role.as_str(), "endpoints": account.endpoints })
                .to_string(),
    };
    store
        .append_audit(&entry)
        .await
        .map_err(|e| e.to_string())?;
    Ok(())
}

/// Imports a directory CSV (`config/examples/tuyen-quang.csv` is one) into
/// the configured database: all rows or none, as the API does.
pub async fn import_endpoints(
    config: &Config,
    csv: &str,
) -> Result<mcu_control::directory::ImportReport, String> {
    let url = config.server.database_url().map_err(|e| e.to_string())?;
    let store = Store::open(&url).await.map_err(|e| e.to_string())?;
    let now = crate::server::wall_clock_ms();
    match mcu_control::directory::import(&store, csv, now)
        .await
        .map_err(|e| e.to_string())?
    {
        Ok(report) => {
            let entry = mcu_store::NewAuditEntry {
                at: now,
                actor: "(command line)".into(),
                role: "-".into(),
                action: "endpoint.import".into(),
                target: "endpoints".into(),
                from_addr: "localhost".into(),
                result: "ok".into(),
                details:
                    serde_json::json!({ "created": report.created, "updated": report.updated })
                        .to_string(),
            };
            store
                .append_audit(&entry)
                .await
                .map_err(|e| e.to_string())?;
            Ok(report)
        }
        Err(rows) => Err(rows
            .iter()
            .map(|r| format!("line {}: {}", r.line, r.message))
            .collect::<Vec<_>>()
            .join("\n")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn parses_the_options() {
        let a = NewAccount::parse(&args(
            "--username lan --role site_operator --endpoint son-duong",
        ))
        .unwrap();
        assert_eq!(a.role, Role::SiteOperator);
        assert_eq!(a.endpoints, ["son-duong"]);
        assert_eq!(a.display_name, "lan");
        assert!(NewAccount::parse(&args("--username lan")).is_err());
        assert!(NewAccount::parse(&args("--username lan --role boss")).is_err());
        assert!(NewAccount::parse(&args("--username lan --role admin --color red")).is_err());
    }
}
