import OZGCore
import Testing

@testable import PostgresStore

/// `postgresql://` URLs and libpq's conventions (no server needed).
@Suite struct PostgresConfigurationTests {
    @Test func urlGivesEveryPart() throws {
        let configuration = try PostgresConfiguration.resolve(
            url: "postgresql://officer:s%40cret@db.example.org:6432/ozg?sslmode=require&schema=land_08")
        #expect(configuration.user == "officer")
        #expect(configuration.password == "s@cret")
        #expect(configuration.host == "db.example.org")
        #expect(configuration.port == 6432)
        #expect(configuration.database == "ozg")
        #expect(configuration.sslMode == .require)
        #expect(configuration.schema == "land_08")
    }

    @Test(arguments: ["postgresql://u@h/d", "postgres://u@h/d"])
    func bothSchemesAreURLs(url: String) throws {
        #expect(PostgresConfiguration.isURL(url))
        #expect(try PostgresConfiguration.resolve(url: url).host == "h")
    }

    @Test(arguments: ["ozgtrack.sqlite", "/data/postgresql/ozg.sqlite", "postgresql.sqlite", "mysql://u@h/d"])
    func pathsAreNotURLs(path: String) {
        #expect(!PostgresConfiguration.isURL(path))
    }

    @Test func missingPartsComeFromTheEnvironmentThenDefaults() throws {
        let environment = [
            "PGHOST": "envhost", "PGPORT": "5499", "PGUSER": "envuser", "PGPASSWORD": "envpass", "PGDATABASE": "envdb",
            "PGSSLMODE": "verify-full",
        ]
        let fromEnvironment = try PostgresConfiguration.resolve(url: "postgresql://", environment: environment)
        #expect(fromEnvironment.host == "envhost")
        #expect(fromEnvironment.port == 5499)
        #expect(fromEnvironment.user == "envuser")
        #expect(fromEnvironment.password == "envpass")
        #expect(fromEnvironment.database == "envdb")
        #expect(fromEnvironment.sslMode == .verifyFull)
        let urlWins = try PostgresConfiguration.resolve(url: "postgresql://me:pw@here:1234/mine?sslmode=disable", environment: environment)
        #expect(urlWins.host == "here" && urlWins.port == 1234 && urlWins.user == "me" && urlWins.password == "pw")
        #expect(urlWins.database == "mine" && urlWins.sslMode == .disable)
        let defaults = try PostgresConfiguration.resolve(url: "postgresql://", environment: ["USER": "officer"])
        #expect(defaults.host == "localhost" && defaults.port == 5432 && defaults.user == "officer")
        #expect(defaults.database == "officer" && defaults.sslMode == .prefer && defaults.schema == "ozgtrack")
        #expect(defaults.password == nil)
    }

    @Test func socketDirectoryAsHost() throws {
        let percentEncoded = try PostgresConfiguration.resolve(url: "postgresql://u@%2Fvar%2Frun%2Fpostgresql:5433/d")
        #expect(percentEncoded.usesSocket)
        #expect(percentEncoded.socketPath == "/var/run/postgresql/.s.PGSQL.5433")
        let parameter = try PostgresConfiguration.resolve(url: "postgresql:///d?host=/tmp/sock&user=u")
        #expect(parameter.socketPath == "/tmp/sock/.s.PGSQL.5432")
    }

    @Test func ipv6Host() throws {
        let configuration = try PostgresConfiguration.resolve(url: "postgresql://u@[::1]:5433/d")
        #expect(configuration.host == "::1" && configuration.port == 5433)
    }

    @Test func passwordFileFillsAMissingPassword() throws {
        let file = """
            # comment
            other:5432:*:u:wrong
            db.example.org:6432:ozg:officer:from\\:file
            *:*:*:*:fallback
            """
        let matched = try PostgresConfiguration.resolve(
            url: "postgresql://officer@db.example.org:6432/ozg", passwordFile: file)
        #expect(matched.password == "from:file")
        let wildcard = try PostgresConfiguration.resolve(url: "postgresql://someone@elsewhere/x", passwordFile: file)
        #expect(wildcard.password == "fallback")
        let urlWins = try PostgresConfiguration.resolve(url: "postgresql://officer:given@db.example.org:6432/ozg", passwordFile: file)
        #expect(urlWins.password == "given")
    }

    @Test(arguments: [
        ("postgresql://u@h:99999/d", "port '99999'"),
        ("postgresql://u@h:x/d", "port 'x'"),
        ("postgresql://u@h/d?sslmode=always", "sslmode 'always'"),
        ("postgresql://u@h/d?schema=Drop%20Table", "schema 'Drop Table'"),
        ("postgresql://u@h/d?frobnicate=1", "parameter 'frobnicate'"),
        ("postgresql://u@h1,h2/d", "several hosts"),
        ("postgresql://u@h/d%zz", "'%'"),
    ])
    func badURLsAreRefusedNamingThePart(url: String, expected: String) {
        #expect {
            _ = try PostgresConfiguration.resolve(url: url, environment: ["USER": "x"])
        } throws: { error in
            (error as? StoreError)?.message.contains(expected) == true
        }
    }

    @Test(arguments: [
        "postgresql://officer:TopSecret99@h:1/d?sslmode=always",
        "postgresql://officer@h:1/d?password=TopSecret99&sslmode=always",
    ])
    func messagesNeverShowThePassword(url: String) throws {
        do {
            _ = try PostgresConfiguration.resolve(url: url)
            Issue.record("expected an error")
        } catch {
            #expect(!error.message.contains("TopSecret99"))
            #expect(error.message.contains("***"))
        }
        let configuration = try PostgresConfiguration.resolve(url: url.replacingOccurrences(of: "always", with: "disable"))
        #expect(!configuration.description.contains("TopSecret99"))
        #expect(!String(describing: configuration).contains("TopSecret99"))
        #expect(!String(reflecting: configuration).contains("TopSecret99"))
        var dumped = ""
        dump(configuration, to: &dumped)
        #expect(!dumped.contains("TopSecret99"))
    }
}
