import java.io.File;
import java.net.URL;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.MongoVersion;
import de.bwaldvogel.mongo.backend.h2.H2Backend;
import de.bwaldvogel.mongo.bson.Document;
import io.netty.channel.Channel;

/**
 * Local-mode MongoDB-wire-compatible server for start-deps.sh: mongo-java-server with the H2
 * MVStore file backend (data survives a restart).
 *
 * <p>Usage: {@code java -cp classes:libs/* MongoLauncher HOST PORT H2_FILE}
 *
 * <p>PyMongo 4.18+ refuses servers whose maxWireVersion is below 9 (MongoDB 4.4), and every
 * constant of mongo-java-server's {@code ServerVersion} enum (up to MONGO_5_0, which reports
 * wire version 8) is below that. {@code MongoBackend.version(...)} takes the {@link MongoVersion}
 * interface, so the launcher passes its own implementation: by default MongoDB 4.4.0 / wire 9,
 * the oldest that current PyMongo accepts (so PyMongo never assumes newer server features).
 * Override with -Dmongo.reportedVersion=5.0.0 -Dmongo.wireVersion=13.
 *
 * <p>buildInfo also carries {@code gitVersion: "mongo-java-server X (h2 Y)"} and a
 * {@code mongoJavaServer} sub-document so that clients can tell which server they talk to.
 *
 * <p>SIGTERM runs a shutdown hook that stops the server and closes the backend, which commits
 * and closes the MVStore file (without it, up to about one second of writes could be lost).
 */
public final class MongoLauncher {

    private MongoLauncher() {
    }

    /** A MongoDB version as reported through hello/isMaster and buildInfo. */
    static final class ReportedVersion implements MongoVersion {
        private final List<Integer> versionArray;
        private final int wireVersion;

        ReportedVersion(String version, int wireVersion) {
            String[] parts = version.split("\\.");
            if (parts.length != 3) {
                throw new IllegalArgumentException("version must be X.Y.Z: " + version);
            }
            this.versionArray = List.of(Integer.valueOf(parts[0]), Integer.valueOf(parts[1]),
                Integer.valueOf(parts[2]));
            this.wireVersion = wireVersion;
        }

        @Override
        public List<Integer> getVersionArray() {
            return versionArray;
        }

        @Override
        public String toVersionString() {
            return versionArray.get(0) + "." + versionArray.get(1) + "." + versionArray.get(2);
        }

        @Override
        public int getWireVersion() {
            return wireVersion;
        }
    }

    /** The H2 backend, with buildInfo naming the real server behind the MongoDB version. */
    static final class IdentifyingH2Backend extends H2Backend {
        private final String identity;
        private final String serverVersion;
        private final String h2Version;

        IdentifyingH2Backend(String fileName, String serverVersion, String h2Version) {
            super(fileName);
            this.serverVersion = serverVersion;
            this.h2Version = h2Version;
            this.identity = "mongo-java-server " + serverVersion + " (h2 " + h2Version + ")";
        }

        @Override
        public Document handleCommand(Channel channel, String database, String command,
                                      Document query) {
            Document response = super.handleCommand(channel, database, command, query);
            if (response != null && "buildinfo".equalsIgnoreCase(command)) {
                response.put("gitVersion", identity);
                Document info = new Document();
                info.put("version", serverVersion);
                info.put("backend", "h2");
                info.put("h2Version", h2Version);
                info.put("java", System.getProperty("java.version"));
                response.put("mongoJavaServer", info);
            }
            return response;
        }
    }

    /** Version of the jar that holds the class, read from the jar's file name. */
    static String jarVersion(Class<?> type, String artifact) {
        try {
            URL location = type.getProtectionDomain().getCodeSource().getLocation();
            String name = new File(location.toURI()).getName();
            Matcher matcher = Pattern.compile(Pattern.quote(artifact) + "-(.+)\\.jar").matcher(name);
            if (matcher.matches()) {
                return matcher.group(1);
            }
        } catch (Exception e) {
            // fall through
        }
        return "unknown";
    }

    public static void main(String[] args) {
        if (args.length != 3) {
            System.err.println("usage: MongoLauncher HOST PORT H2_FILE");
            System.exit(2);
        }
        String host = args[0];
        int port = Integer.parseInt(args[1]);
        String file = args[2];

        File parent = new File(file).getAbsoluteFile().getParentFile();
        if (parent != null && !parent.isDirectory() && !parent.mkdirs()) {
            System.err.println("cannot create directory " + parent);
            System.exit(1);
        }

        String serverVersion = jarVersion(MongoServer.class, "mongo-java-server-core");
        String h2Version = jarVersion(org.h2.mvstore.MVStore.class, "h2");
        ReportedVersion reported = new ReportedVersion(
            System.getProperty("mongo.reportedVersion", "4.4.0"),
            Integer.getInteger("mongo.wireVersion", 9));

        IdentifyingH2Backend backend = new IdentifyingH2Backend(file, serverVersion, h2Version);
        backend.version(reported);
        MongoServer server = new MongoServer(backend);

        try {
            server.bind(host, port);
        } catch (RuntimeException e) {
            System.err.println("cannot listen on " + host + ":" + port + ": " + e);
            backend.close();
            System.exit(1);
        }

        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            System.out.println("MongoLauncher: shutting down, closing " + file);
            // shutdownNow: stop listening, close client connections, stop the event loops, then
            // close the backend (commits and closes the MVStore file).
            server.shutdownNow();
            System.out.println("MongoLauncher: stopped");
            System.out.flush();
        }, "mongo-shutdown"));

        System.out.println("MongoLauncher: " + backend.identity + " reporting MongoDB "
            + reported.toVersionString() + " (wire " + reported.getWireVersion()
            + ") listening on " + host + ":" + port + ", data " + file);
        System.out.flush();
    }
}
