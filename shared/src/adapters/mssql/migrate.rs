//! Versioned T-SQL migrations (`shared/migrations/mssql/NNNN_name.sql`), embedded in the binary
//! and applied in order, each in its own transaction with its row in `schema_migrations`
//! (version, name, SHA-256 of the file, applied_at).
//!
//! Instances that start together (Lambda functions after a deploy) take turns through an
//! application lock (`sp_getapplock`, owned by the session), so one applies what is missing and
//! the others find it applied. A file changed after it was applied stops start-up: add a new
//! migration instead. Versions recorded by a newer build and unknown to this one are left alone
//! (with a warning), so that an older instance still starting during a rolling deploy runs.
//!
//! A file may hold several batches separated by lines that read `GO` (as in sqlcmd and SSMS);
//! each batch is sent as it is, so no statement may span a `GO`.

use super::{Connection, sql};
use anyhow::{Context as _, bail, ensure};
use sha2::{Digest as _, Sha256};

/// One embedded migration file.
#[derive(Debug, Clone, Copy)]
pub(super) struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

/// Every migration, oldest first. A unit test checks that this list and the files of
/// `shared/migrations/mssql/` agree.
pub(super) const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "initial",
        sql: include_str!("../../../migrations/mssql/0001_initial.sql"),
    },
    Migration {
        version: 2,
        name: "conversations",
        sql: include_str!("../../../migrations/mssql/0002_conversations.sql"),
    },
    Migration {
        version: 3,
        name: "notifications",
        sql: include_str!("../../../migrations/mssql/0003_notifications.sql"),
    },
    Migration {
        version: 4,
        name: "reposts",
        sql: include_str!("../../../migrations/mssql/0004_reposts.sql"),
    },
    Migration {
        version: 5,
        name: "repost_entries",
        sql: include_str!("../../../migrations/mssql/0005_repost_entries.sql"),
    },
    Migration {
        version: 6,
        name: "accounts",
        sql: include_str!("../../../migrations/mssql/0006_accounts.sql"),
    },
    Migration {
        version: 7,
        name: "retention",
        sql: include_str!("../../../migrations/mssql/0007_retention.sql"),
    },
    Migration {
        version: 8,
        name: "blocks",
        sql: include_str!("../../../migrations/mssql/0008_blocks.sql"),
    },
    Migration {
        version: 9,
        name: "idempotency",
        sql: include_str!("../../../migrations/mssql/0009_idempotency.sql"),
    },
    Migration {
        version: 10,
        name: "trace_context",
        sql: include_str!("../../../migrations/mssql/0010_trace_context.sql"),
    },
];

/// How long an instance waits for another one's migrations before giving up.
const LOCK_TIMEOUT_MS: i32 = 120_000;

/// The lowest database compatibility level the statements need (`OPENJSON`: SQL Server 2016).
const MIN_COMPATIBILITY_LEVEL: i32 = 130;

impl Migration {
    /// SHA-256 of the file, with CRLF line ends read as LF so that a checkout on Windows
    /// computes the same sum.
    pub fn checksum(&self) -> [u8; 32] {
        Sha256::digest(self.sql.replace("\r\n", "\n").as_bytes()).into()
    }

    /// The file's batches: the text between lines that read `GO`, empty ones left out.
    pub fn batches(&self) -> Vec<String> {
        let mut batches = vec![String::new()];
        for line in self.sql.lines() {
            if line.trim().eq_ignore_ascii_case("GO") {
                batches.push(String::new());
            } else if let Some(batch) = batches.last_mut() {
                batch.push_str(line);
                batch.push('\n');
            }
        }
        batches.retain(|batch| !only_comments(batch));
        batches
    }

    pub fn label(&self) -> String {
        format!("{:04}_{}", self.version, self.name)
    }
}

fn only_comments(batch: &str) -> bool {
    batch
        .lines()
        .map(str::trim)
        .all(|line| line.is_empty() || line.starts_with("--"))
}

/// Applies the migrations that `client`'s database lacks, under the migration lock. `client`
/// is a connection of its own: the lock belongs to its session, and a failure leaves it inside
/// a transaction, so the caller closes it either way.
pub(super) async fn run(client: &mut Connection) -> anyhow::Result<()> {
    let mode = client
        .query(sql::TAKE_MIGRATION_LOCK, &[&LOCK_TIMEOUT_MS])
        .await?
        .into_row()
        .await?
        .and_then(|row| row.get::<&str, _>("mode").map(str::to_owned));
    ensure!(
        mode.as_deref() == Some("Exclusive"),
        "another instance held the migration lock for {} s (lock mode {mode:?})",
        LOCK_TIMEOUT_MS / 1000
    );

    let level = client
        .simple_query(sql::COMPATIBILITY_LEVEL)
        .await?
        .into_row()
        .await?
        .and_then(|row| row.get::<i32, _>("level"));
    if let Some(level) = level {
        ensure!(
            level >= MIN_COMPATIBILITY_LEVEL,
            "the database's compatibility level is {level}; Rookery needs \
             {MIN_COMPATIBILITY_LEVEL} (SQL Server 2016) or more for OPENJSON: \
             ALTER DATABASE CURRENT SET COMPATIBILITY_LEVEL = 160"
        );
    }

    client
        .simple_query(sql::CREATE_MIGRATIONS_TABLE)
        .await?
        .into_results()
        .await
        .context("create schema_migrations")?;
    let rows = client
        .simple_query(sql::APPLIED_MIGRATIONS)
        .await?
        .into_first_result()
        .await?;
    let mut applied = Vec::with_capacity(rows.len());
    for row in &rows {
        let version: i64 = row.try_get("version")?.context("NULL version")?;
        let name: &str = row.try_get("name")?.context("NULL name")?;
        let checksum: &[u8] = row.try_get("checksum")?.context("NULL checksum")?;
        applied.push((version, name.to_owned(), checksum.to_vec()));
    }

    for (version, name, checksum) in &applied {
        match MIGRATIONS.iter().find(|m| m.version == *version) {
            Some(known) => {
                if known.checksum().as_slice() != checksum.as_slice() {
                    bail!(
                        "migration {} was changed after it was applied to this database; \
                         restore the file and put the change in a new migration",
                        known.label()
                    );
                }
            }
            None => tracing::warn!(
                version,
                name = name.as_str(),
                "the database has a migration this build does not know (a newer build applied \
                 it); carrying on"
            ),
        }
    }

    for migration in MIGRATIONS {
        if applied
            .iter()
            .any(|(version, _, _)| *version == migration.version)
        {
            continue;
        }
        apply(client, migration)
            .await
            .with_context(|| format!("apply SQL Server migration {}", migration.label()))?;
        tracing::info!(
            migration = migration.label(),
            "applied SQL Server migration"
        );
    }

    client
        .simple_query(sql::RELEASE_MIGRATION_LOCK)
        .await?
        .into_results()
        .await?;
    Ok(())
}

async fn apply(client: &mut Connection, migration: &Migration) -> anyhow::Result<()> {
    client
        .simple_query(sql::BEGIN_MIGRATION)
        .await?
        .into_results()
        .await?;
    for batch in migration.batches() {
        client.simple_query(batch).await?.into_results().await?;
    }
    let checksum = migration.checksum();
    client
        .execute(
            sql::RECORD_MIGRATION,
            &[&migration.version, &migration.name, &&checksum[..]],
        )
        .await?;
    client
        .simple_query(sql::COMMIT_MIGRATION)
        .await?
        .into_results()
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_matches_the_folder() -> anyhow::Result<()> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/mssql");
        let mut files = Vec::new();
        for entry in std::fs::read_dir(&dir)? {
            let name = entry?.file_name().to_string_lossy().into_owned();
            files.push(name);
        }
        files.sort();
        let listed: Vec<String> = MIGRATIONS
            .iter()
            .map(|m| format!("{}.sql", m.label()))
            .collect();
        assert_eq!(
            files, listed,
            "shared/migrations/mssql/ and MIGRATIONS differ"
        );
        for migration in MIGRATIONS {
            let on_disk = std::fs::read_to_string(dir.join(format!("{}.sql", migration.label())))?;
            assert_eq!(on_disk, migration.sql);
        }
        Ok(())
    }

    #[test]
    fn versions_increase() {
        for pair in MIGRATIONS.windows(2) {
            if let [a, b] = pair {
                assert!(a.version < b.version, "{} then {}", a.label(), b.label());
            }
        }
    }

    #[test]
    fn batches_split_on_go_lines_only() {
        let migration = Migration {
            version: 9,
            name: "t",
            sql: "-- a comment\nCREATE TABLE a (x INT);\ngo\n  GO  \nCREATE VIEW v AS SELECT \
                  x AS going FROM a;\r\nGO\n-- trailing comment only\n",
        };
        let batches = migration.batches();
        assert_eq!(batches.len(), 2, "{batches:?}");
        assert!(batches[0].contains("CREATE TABLE a"));
        assert!(batches[1].starts_with("CREATE VIEW v AS SELECT x AS going"));
    }

    #[test]
    fn checksum_ignores_line_ends() {
        let unix = Migration {
            version: 1,
            name: "a",
            sql: "CREATE TABLE a (x INT);\nCREATE TABLE b (y INT);\n",
        };
        let windows = Migration {
            sql: "CREATE TABLE a (x INT);\r\nCREATE TABLE b (y INT);\r\n",
            ..unix
        };
        let changed = Migration {
            sql: "CREATE TABLE a (x BIGINT);\nCREATE TABLE b (y INT);\n",
            ..unix
        };
        assert_eq!(unix.checksum(), windows.checksum());
        assert_ne!(unix.checksum(), changed.checksum());
    }
}
