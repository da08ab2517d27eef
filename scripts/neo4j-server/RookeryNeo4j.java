// A real Neo4j 5 Community server for Rookery's tests: the DBMS from Maven Central's
// org.neo4j:neo4j, with its Bolt connector on a loopback port and authentication on.
// scripts/neo4j runs this file with `java -cp <classpath> RookeryNeo4j.java` (Java's source
// launcher, so nothing is compiled or packaged ahead of time).
//
// Usage: RookeryNeo4j.java <home dir> <bolt port> <password>
// The password is also accepted from the NEO4J_PASSWORD environment variable when the argument
// is "-", so it does not show in `ps`. It prints "rookery-neo4j: ready" once Bolt answers and
// the password is set, and shuts the DBMS down cleanly on SIGTERM or SIGINT.

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;
import org.neo4j.graphdb.QueryExecutionException;

public final class RookeryNeo4j {
    public static void main(String[] args) throws Exception {
        if (args.length != 3) {
            System.err.println("usage: RookeryNeo4j.java <home dir> <bolt port> <password|->");
            System.exit(2);
        }
        Path home = Path.of(args[0]).toAbsolutePath();
        int port = Integer.parseInt(args[1]);
        String password = args[2].equals("-") ? System.getenv("NEO4J_PASSWORD") : args[2];
        // Neo4j refuses passwords shorter than 8 characters (dbms.security.auth_minimum_password_length).
        if (password == null || password.length() < 8) {
            System.err.println("rookery-neo4j: the password must have at least 8 characters");
            System.exit(2);
        }

        DatabaseManagementService dbms = new DatabaseManagementServiceBuilder(home)
                .setConfig(Map.of(
                        BoltConnector.enabled, true,
                        BoltConnector.listen_address, new SocketAddress("127.0.0.1", port),
                        BoltConnector.encryption_level, BoltConnector.EncryptionLevel.DISABLED,
                        GraphDatabaseSettings.auth_enabled, true,
                        // A test server: a small page cache, and old transaction logs dropped.
                        GraphDatabaseSettings.pagecache_memory, 256L * 1024 * 1024,
                        GraphDatabaseSettings.keep_logical_logs, "2 files",
                        GraphDatabaseSettings.shutdown_transaction_end_timeout, Duration.ofSeconds(5)))
                .build();
        Runtime.getRuntime().addShutdownHook(new Thread(dbms::shutdown, "rookery-neo4j-shutdown"));
        try {
            setPassword(dbms, password);
        } catch (RuntimeException e) {
            // The DBMS's own threads would keep the process alive: end it, so the caller sees
            // the failure at once.
            e.printStackTrace();
            System.exit(1);
        }

        System.out.println("rookery-neo4j: ready, Neo4j " + neo4jVersion() + " on bolt://127.0.0.1:" + port);
        System.out.flush();
        Thread.currentThread().join();
    }

    /**
     * The built-in user starts with the password "neo4j", to be changed on first login. The
     * test password is set on every start (the embedded API runs with full rights, without a
     * login), so a data folder from an earlier run with another password still works; Neo4j
     * refuses to "change" a password to itself, which means it is already set.
     */
    private static void setPassword(DatabaseManagementService dbms, String password) {
        try {
            dbms.database(GraphDatabaseSettings.SYSTEM_DATABASE_NAME).executeTransactionally(
                    "ALTER USER neo4j SET PASSWORD $password CHANGE NOT REQUIRED",
                    Map.of("password", password));
        } catch (QueryExecutionException e) {
            if (e.getMessage() == null || !e.getMessage().contains("cannot be the same")) {
                throw e;
            }
        }
    }

    private static String neo4jVersion() {
        String version = org.neo4j.kernel.internal.Version.getNeo4jVersion();
        return version == null ? "5" : version;
    }
}
