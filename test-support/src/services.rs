//! Where the tests find the real services: `scripts/test` exports `TEST_*` variables; the
//! defaults are the loopback ports `scripts/services` and `scripts/neo4j` use (and the password
//! `scripts/neo4j` sets). A service that is down fails the test that needs it, never skips it.

/// The URL of a service named by its `TEST_*` variable.
pub fn service_url(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| {
        match var {
            "TEST_REDIS_URL" => "redis://127.0.0.1:6379",
            "TEST_RABBITMQ_URL" => "amqp://guest:guest@127.0.0.1:5672/%2f",
            "TEST_SMTP_URL" => "smtp://127.0.0.1:1025",
            "TEST_MAILDEV_URL" => "http://127.0.0.1:1080",
            "TEST_SECRETS_MANAGER_URL" => "http://127.0.0.1:4566",
            "TEST_NEO4J_URI" => "bolt://127.0.0.1:7687",
            "TEST_NEO4J_USER" => "neo4j",
            "TEST_NEO4J_PASSWORD" => "rookery-test-password",
            _ => "",
        }
        .to_owned()
    })
}

/// The `host:port` of a URL such as `amqp://user:pass@host:port/vhost`.
pub fn host_port(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, rest)| rest);
    rest.split('/').next().unwrap_or(rest)
}
