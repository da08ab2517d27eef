//! Checks of the T-SQL text that need no server: every statement and every migration batch
//! parses with sqlparser's `MsSqlDialect`, uses its parameters `@P1..@Pn` without gaps, and
//! lives in `sql.rs` (no SQL text elsewhere in the adapter, so nothing can be spliced).

use std::collections::BTreeSet;

use sqlparser::dialect::MsSqlDialect;
use sqlparser::parser::Parser;

use super::migrate::MIGRATIONS;
use super::sql;

/// Statements sqlparser cannot parse, with the reason; each must still fail to parse, so that
/// the list stays as short as it can be. Empty: everything the adapter sends parses.
const NOT_PARSED: &[(&str, &str)] = &[];

fn parse(name: &str, text: &str) -> Result<usize, String> {
    Parser::parse_sql(&MsSqlDialect {}, text)
        .map(|statements| statements.len())
        .map_err(|err| format!("{name}: {err}\n{text}"))
}

#[test]
fn every_statement_parses_as_t_sql() {
    let mut failures = Vec::new();
    for (name, text) in sql::ALL {
        let listed = NOT_PARSED.iter().any(|(n, _)| n == name);
        match (parse(name, text), listed) {
            (Ok(0), _) => failures.push(format!("{name}: no statement")),
            (Ok(_), false) | (Err(_), true) => {}
            (Ok(_), true) => failures.push(format!("{name} parses now: take it off NOT_PARSED")),
            (Err(err), false) => failures.push(err),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn every_migration_batch_parses_as_t_sql() {
    let mut failures = Vec::new();
    for migration in MIGRATIONS {
        let batches = migration.batches();
        assert!(!batches.is_empty(), "{} is empty", migration.label());
        for (i, batch) in batches.iter().enumerate() {
            if let Err(err) = parse(&format!("{} batch {i}", migration.label()), batch) {
                failures.push(err);
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn the_initial_migration_creates_what_the_adapter_uses() -> Result<(), String> {
    let Some(initial) = MIGRATIONS.first() else {
        return Err("no migrations".into());
    };
    let batch = initial.batches().concat();
    let n = parse("0001_initial", &batch)?;
    // 4 tables and 4 indexes.
    assert_eq!(n, 8, "statements in 0001_initial");
    for table in ["users", "posts", "outbox", "processed_events"] {
        assert!(
            batch.contains(&format!("CREATE TABLE {table} (")),
            "no table {table}"
        );
    }
    Ok(())
}

/// Every `pub const NAME: &str` of sql.rs is in `sql::ALL`, so the parse test sees it.
#[test]
fn every_statement_constant_is_listed() {
    let source = include_str!("sql.rs");
    let declared: BTreeSet<&str> = source
        .lines()
        .filter_map(|line| line.strip_prefix("pub const "))
        .filter_map(|rest| rest.split_once(": &str"))
        .map(|(name, _)| name)
        .collect();
    let listed: BTreeSet<&str> = sql::ALL.iter().map(|(name, _)| *name).collect();
    assert_eq!(declared, listed);
    for (name, text) in sql::ALL {
        let constant = source
            .lines()
            .any(|line| line.starts_with(&format!("pub const {name}: &str")));
        assert!(constant, "{name} is listed but not a constant of sql.rs");
        assert!(!text.trim().is_empty(), "{name} is empty");
    }
}

/// `@P1`..`@Pn`, each at least once: a gap would mean a value bound to the wrong slot.
#[test]
fn parameters_are_numbered_without_gaps() {
    for (name, text) in sql::ALL {
        let mut numbers = BTreeSet::new();
        let mut rest = *text;
        while let Some(at) = rest.find("@P") {
            rest = rest.get(at + 2..).unwrap_or("");
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            if let Ok(n) = digits.parse::<usize>() {
                numbers.insert(n);
            }
        }
        let want: BTreeSet<usize> = (1..=numbers.len()).collect();
        assert_eq!(numbers, want, "{name}: parameters");
    }
}

/// Keyset pages only, and no `UNIQUEIDENTIFIER` to sort by.
#[test]
fn no_offset_paging_and_no_uniqueidentifier() {
    let code = |text: &str| -> String {
        text.lines()
            .map(|line| line.split("--").next().unwrap_or(""))
            .collect::<Vec<_>>()
            .join("\n")
            .to_uppercase()
    };
    for (name, text) in sql::ALL {
        let text = code(text);
        assert!(!text.contains("OFFSET"), "{name} pages with OFFSET");
        assert!(!text.contains("UNIQUEIDENTIFIER"), "{name}");
    }
    for migration in MIGRATIONS {
        assert!(
            !code(migration.sql).contains("UNIQUEIDENTIFIER"),
            "{}",
            migration.label()
        );
    }
}

/// SQL text lives in sql.rs (and the migration files) only: the other files of the adapter
/// pass constants to tiberius, never a literal or a `format!`.
#[test]
fn no_sql_text_outside_sql_rs() {
    let files = [
        ("mod.rs", include_str!("mod.rs")),
        ("users.rs", include_str!("users.rs")),
        ("posts.rs", include_str!("posts.rs")),
        ("outbox.rs", include_str!("outbox.rs")),
        ("notifications.rs", include_str!("notifications.rs")),
        ("sessions.rs", include_str!("sessions.rs")),
        ("migrate.rs", include_str!("migrate.rs")),
    ];
    for (file, source) in files {
        for call in [
            ".query(",
            ".execute(",
            ".simple_query(",
            "query(\n",
            "execute(\n",
        ] {
            let mut rest = source;
            while let Some(at) = rest.find(call) {
                rest = rest.get(at + call.len()..).unwrap_or("");
                let argument = rest.trim_start();
                let ok = argument.starts_with("sql::")
                    // the migration runner sends the batches of the embedded files
                    || (file == "migrate.rs" && argument.starts_with("batch)"));
                assert!(
                    ok,
                    "{file}: {call} takes {:?}",
                    argument.chars().take(40).collect::<String>()
                );
            }
        }
    }
}

/// `BINARY(16)` compares bytes from the left, unsigned: for UUIDv7 that is creation order,
/// which the keyset pages (`id < @P2 ORDER BY id DESC`) rely on; and the "from the newest"
/// bound is above every id.
#[test]
fn stored_id_bytes_sort_in_creation_order() {
    use crate::domain::PostId;

    let ids: Vec<PostId> = (0..200).map(|_| PostId::new()).collect();
    let stored: Vec<Vec<u8>> = ids.iter().map(|id| super::id_param(id.as_uuid())).collect();
    let mut sorted = stored.clone();
    sorted.sort();
    assert_eq!(stored, sorted);
    assert!(stored.iter().all(|id| id.len() == 16));
    assert!(
        stored
            .iter()
            .all(|id| id.as_slice() < super::ABOVE_EVERY_ID.as_slice())
    );
}

/// What `OPENJSON` gets: a JSON array of the ids' 32 hex digits, which
/// `CONVERT(BINARY(16), .., 2)` turns back into the stored bytes.
#[test]
fn id_lists_are_json_arrays_of_hex() -> anyhow::Result<()> {
    use crate::domain::UserId;

    let ids = [UserId::new(), UserId::new()];
    let json = super::json_ids(ids.iter().map(UserId::as_uuid));
    let parsed: Vec<String> = serde_json::from_str(&json)?;
    assert_eq!(parsed.len(), 2);
    for (hex, id) in parsed.iter().zip(&ids) {
        assert_eq!(hex.len(), 32);
        let bytes: Vec<u8> = (0..16)
            .map(|i| u8::from_str_radix(hex.get(2 * i..2 * i + 2).unwrap_or(""), 16))
            .collect::<Result<_, _>>()?;
        assert_eq!(bytes, super::id_param(id.as_uuid()));
    }
    assert_eq!(super::json_ids(std::iter::empty()), "[]");
    Ok(())
}

/// Timestamps go in as `DATETIME2` and come back to the millisecond.
#[test]
fn timestamps_keep_their_milliseconds() {
    use crate::domain::Timestamp;

    for millis in [0, 1_764_028_800_123, Timestamp::now().millis()] {
        let at = Timestamp::from_millis(millis);
        let param = super::time_param(at);
        assert_eq!(param.timestamp_millis(), millis);
    }
}
