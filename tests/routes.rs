//! The route table (`rookery::http::routes::ROUTES`) is the one place a route is declared. The
//! places outside the code that must name every route are held to it here, both ways: a route
//! added to the table and forgotten in one of them fails, and so does one that a file names
//! and the table does not.
//! - template.yaml: each function's `HttpApi` events (method, path, authorizer);
//! - Cargo.toml: the `cargo lambda watch` router (path → function);
//! - localstack/init/ready.d/deploy.sh: its route table (method, path, function);
//! - README.md: the "Routes" table (method, path, token, function).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;
use std::path::Path;

use anyhow::{Context as _, bail, ensure};
use rookery::http::routes::{Access, ROUTES};
use rookery_test_support::template::Template;

/// (method, path, function, needs a token)
type Entry = (String, String, String, bool);
/// (method, path, function)
type Target = (String, String, String);

fn read(file: &str) -> anyhow::Result<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    std::fs::read_to_string(&path).with_context(|| format!("read {}", path.display()))
}

fn table() -> BTreeSet<Entry> {
    ROUTES
        .iter()
        .map(|r| {
            (
                r.method.as_str().to_owned(),
                r.path.to_owned(),
                r.function.name().to_owned(),
                r.access == Access::Token,
            )
        })
        .collect()
}

/// Fails with what each side has that the other lacks.
fn same<T: Ord + Debug + Clone>(
    place: &str,
    got: &BTreeSet<T>,
    want: &BTreeSet<T>,
) -> anyhow::Result<()> {
    let missing: Vec<_> = want.difference(got).cloned().collect();
    let extra: Vec<_> = got.difference(want).cloned().collect();
    ensure!(
        missing.is_empty() && extra.is_empty(),
        "{place} disagrees with the route table (shared/src/http/routes.rs):\n  \
         missing: {missing:?}\n  not in the table: {extra:?}"
    );
    Ok(())
}

/// The routes of template.yaml's `HttpApi` events; the one event without a method and path is
/// the HTTP API's `$default` route, returned apart.
fn template_routes(yaml: &str) -> anyhow::Result<(BTreeSet<Entry>, Vec<String>)> {
    let template = Template::parse(yaml)?;
    let (mut routes, mut defaults) = (BTreeSet::new(), Vec::new());
    for function in template.functions()? {
        let (name, binary) = (function.name, function.binary.to_owned());
        for (event, source) in &function.properties.events {
            if source.kind != "HttpApi" {
                continue;
            }
            let props = source
                .properties
                .as_ref()
                .with_context(|| format!("{name}.{event}: no properties"))?;
            let authorizer = props.auth.as_ref().and_then(|a| a.authorizer.as_deref());
            match (&props.method, &props.path) {
                (Some(method), Some(path)) => {
                    let token = match authorizer {
                        Some("NONE") => false,
                        Some("TokenAuthorizer") => true,
                        other => bail!(
                            "{name}.{event}: authorizer {other:?} is neither NONE nor TokenAuthorizer"
                        ),
                    };
                    routes.insert((method.clone(), path.clone(), binary.clone(), token));
                }
                (None, None) => defaults.push(binary.clone()),
                _ => bail!("{name}.{event}: a method without a path, or the reverse"),
            }
        }
    }
    Ok((routes, defaults))
}

/// `[workspace.metadata.lambda.watch.router]`: `"path" = "function"` lines, or
/// `"path" = [{ method = "GET", function = "f" }, ...]`, which cargo-lambda also takes, for a
/// path whose methods go to different functions. Returns (method or `*`, path, function).
fn watch_routes(manifest: &str) -> anyhow::Result<BTreeSet<Target>> {
    let section = manifest
        .split("[workspace.metadata.lambda.watch.router]")
        .nth(1)
        .context("Cargo.toml has no [workspace.metadata.lambda.watch.router]")?;
    let mut routes = BTreeSet::new();
    for line in section.lines().map(str::trim) {
        if line.starts_with('[') {
            break;
        }
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (path, target) = line
            .split_once(" = ")
            .with_context(|| format!("watch router line {line:?}"))?;
        let path = path.trim_matches('"').to_owned();
        if let Some(function) = target.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
            routes.insert(("*".to_owned(), path, function.to_owned()));
            continue;
        }
        for item in target.trim_matches(['[', ']']).split('}') {
            let fields: BTreeMap<&str, &str> = item
                .split(',')
                .filter_map(|kv| kv.trim_matches([' ', '{']).split_once(" = "))
                .map(|(k, v)| (k.trim(), v.trim().trim_matches('"')))
                .collect();
            if let (Some(m), Some(f)) = (fields.get("method"), fields.get("function")) {
                routes.insert(((*m).to_owned(), path.clone(), (*f).to_owned()));
            }
        }
    }
    Ok(routes)
}

/// The heredoc of `route_table()` in LocalStack's deploy script: `METHOD PATH FUNCTION` lines.
/// `ANY` lines stand for the `$default` route and are returned apart.
fn localstack_routes(script: &str) -> anyhow::Result<(BTreeSet<Target>, Vec<String>)> {
    let body = script
        .split("cat <<'ROUTES'\n")
        .nth(1)
        .and_then(|rest| rest.split("\nROUTES").next())
        .context("deploy.sh has no route_table heredoc")?;
    let (mut routes, mut defaults) = (BTreeSet::new(), Vec::new());
    for line in body.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [method, path, function] = fields.as_slice() else {
            bail!("deploy.sh route line {line:?}");
        };
        if *method == "ANY" {
            defaults.push((*function).to_owned());
        } else {
            routes.insert((
                (*method).to_owned(),
                (*path).to_owned(),
                (*function).to_owned(),
            ));
        }
    }
    Ok((routes, defaults))
}

/// The rows of the README's "Routes" table: `` | `METHOD /path` | token? | function | ... | ``.
fn readme_routes(readme: &str) -> anyhow::Result<BTreeSet<Entry>> {
    let section = readme
        .split("\n## Routes\n")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .context("README.md has no Routes section")?;
    let mut routes = BTreeSet::new();
    for row in section.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let [_, route, auth, function, ..] = cells.as_slice() else {
            bail!("README route row {row:?}");
        };
        let (method, path) = route
            .trim_matches('`')
            .split_once(' ')
            .with_context(|| format!("README route {route:?}"))?;
        let token = match *auth {
            "token" => true,
            "" => false,
            other => bail!("README route {route}: auth {other:?} is neither empty nor token"),
        };
        routes.insert((
            method.to_owned(),
            path.to_owned(),
            (*function).to_owned(),
            token,
        ));
    }
    Ok(routes)
}

fn without_token(entries: &BTreeSet<Entry>) -> BTreeSet<Target> {
    entries
        .iter()
        .map(|(m, p, f, _)| (m.clone(), p.clone(), f.clone()))
        .collect()
}

#[test]
fn template_yaml_declares_every_route_once() -> anyhow::Result<()> {
    let (routes, defaults) = template_routes(&read("template.yaml")?)?;
    same("template.yaml", &routes, &table())?;
    ensure!(
        defaults.len() == 1,
        "template.yaml: {} $default routes (want one function answering unmatched requests)",
        defaults.len()
    );
    Ok(())
}

#[test]
fn the_watch_router_sends_every_route_to_its_function() -> anyhow::Result<()> {
    let watch = watch_routes(&read("Cargo.toml")?)?;
    // A path listed without methods sends every method to one function.
    let by_path: BTreeSet<Target> = without_token(&table())
        .into_iter()
        .map(|(method, path, function)| {
            let whole_path = watch.contains(&("*".to_owned(), path.clone(), function.clone()));
            (
                if whole_path { "*".to_owned() } else { method },
                path,
                function,
            )
        })
        .collect();
    same("Cargo.toml's watch router", &watch, &by_path)
}

#[test]
fn localstack_deploys_every_route() -> anyhow::Result<()> {
    let (routes, defaults) = localstack_routes(&read("localstack/init/ready.d/deploy.sh")?)?;
    same("localstack deploy.sh", &routes, &without_token(&table()))?;
    let (_, template_defaults) = template_routes(&read("template.yaml")?)?;
    ensure!(
        defaults.iter().all(|f| template_defaults.contains(f)),
        "deploy.sh sends unmatched requests to {defaults:?}, template.yaml to {template_defaults:?}"
    );
    Ok(())
}

#[test]
fn the_readme_lists_every_route() -> anyhow::Result<()> {
    same(
        "README.md's Routes table",
        &readme_routes(&read("README.md")?)?,
        &table(),
    )
}

/// The checks can fail: a route missing from, or added to, a copy is reported.
#[test]
fn a_forgotten_or_unknown_route_is_reported() -> anyhow::Result<()> {
    let want = table();
    let mut forgotten = want.clone();
    let first = forgotten.pop_first().context("an empty route table")?;
    let Err(err) = same("copy", &forgotten, &want) else {
        bail!("a forgotten route passed");
    };
    ensure!(format!("{err}").contains(&first.1), "{err}");
    let mut unknown = want.clone();
    unknown.insert(("GET".into(), "/nowhere".into(), "profile".into(), false));
    ensure!(
        same("copy", &unknown, &want).is_err(),
        "an unknown route passed"
    );
    let readme =
        "\n## Routes\n\n| `GET /a` | token | f | x |\n| `POST /b` | | g | y |\n\n## Next\n";
    ensure!(
        readme_routes(readme)?
            == BTreeSet::from([
                ("GET".into(), "/a".into(), "f".into(), true),
                ("POST".into(), "/b".into(), "g".into(), false),
            ]),
        "README parsing"
    );
    let manifest = "[workspace.metadata.lambda.watch.router]\n\"/a\" = \"f\"\n\"/b\" = [{ method = \"GET\", function = \"g\" }, { method = \"PUT\", function = \"h\" }]\n\n[x]\n\"/c\" = \"i\"\n";
    ensure!(
        watch_routes(manifest)?
            == BTreeSet::from([
                ("*".into(), "/a".into(), "f".into()),
                ("GET".into(), "/b".into(), "g".into()),
                ("PUT".into(), "/b".into(), "h".into()),
            ]),
        "watch router parsing: {:?}",
        watch_routes(manifest)?
    );
    Ok(())
}
