import ArgumentParser
import CellHub
import CellHubServer
import CellHubStore

#if canImport(Glibc)
import Glibc
#endif

/// `cellhubd users`: the admin commands for users and their API tokens. They work on the
/// database directly, so they also work while the server runs (SQLite serialises writers).
struct Users: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Add, list and revoke users and their API tokens.",
        subcommands: [Add.self, List.self, Revoke.self]
    )

    /// The name as stored: trimmed, 1...64 characters (≤ 256 bytes), no control, bidi or
    /// invisible characters.
    static func validName(_ name: String) throws(CommandFailure) -> String {
        do throws(Validation.Failure) {
            return try Validation.name(name, field: "user name", limit: .userName)
        } catch {
            throw .user(error.message)
        }
    }

    /// `cellhubd users add NAME [--worker]`.
    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a user; print its API token once on stdout (only its hash is stored).")

        @Argument(help: "Unique user name: 1 to 64 characters, no control characters.") var name: String
        @Flag(help: "The token may claim segmentation jobs (for a worker process).") var worker = false
        @OptionGroup var data: DataDirectoryOption

        func run() throws {
            try reportingFailures { () throws(CommandFailure) in
                let name = try Users.validName(self.name)
                let store = try DataDirectory.prepare(data.dataDir).openStore(database: data.database)
                let token = APIToken.generate()
                let created: UserCreated
                do throws(StoreError) {
                    created = try store.createUser(
                        name: name, isWorker: worker, tokenHash: APIToken.hash(token), payload: { _ in [] })
                } catch {
                    switch error {
                    case .userNameTaken:
                        throw .user("a user named '\(name)' already exists")
                    case .database(let sqlite) where sqlite.isUniqueViolation:
                        throw .user("a user named '\(name)' already exists")
                    default:
                        throw .environment("cannot create user '\(name)': \(error)")
                    }
                }
                writeLine(token, to: STDOUT_FILENO)
                writeLine(
                    "created \(worker ? "worker" : "user") '\(name)' (id \(created.user.id)); the line above is its API token, shown only this once",
                    to: STDERR_FILENO)
            }
        }
    }

    /// `cellhubd users list`.
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List users, one per line: name, id, worker|user, created (UTC), active|revoked [when].",
            discussion: "Fields are separated by tabs (names cannot contain them). Tokens are never shown.")

        @OptionGroup var data: DataDirectoryOption

        func run() throws {
            try reportingFailures { () throws(CommandFailure) in
                let store = try DataDirectory.prepare(data.dataDir).openStore(database: data.database)
                let users: [UserRecord]
                do throws(StoreError) {
                    users = try store.users()
                } catch {
                    throw .environment("cannot read users: \(error)")
                }
                for user in users {
                    var fields = [user.name, user.id, user.isWorker ? "worker" : "user", iso8601(user.createdAtMs)]
                    if let revokedAt = user.revokedAtMs {
                        fields += ["revoked", iso8601(revokedAt)]
                    } else {
                        fields.append("active")
                    }
                    writeLine(fields.joined(separator: "\t"), to: STDOUT_FILENO)
                }
                if users.isEmpty { writeLine("no users", to: STDERR_FILENO) }
            }
        }
    }

    /// `cellhubd users revoke NAME`.
    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke a user and all their tokens (their projects and images stay).")

        @Argument(help: "The user's name.") var name: String
        @OptionGroup var data: DataDirectoryOption

        func run() throws {
            try reportingFailures { () throws(CommandFailure) in
                let name = try Users.validName(self.name)
                let store = try DataDirectory.prepare(data.dataDir).openStore(database: data.database)
                let revoked: UserRevoked
                do throws(StoreError) {
                    guard let user = try store.user(named: name) else { throw StoreError.notFound(.user, id: name) }
                    revoked = try store.revokeUser(id: user.id, payload: ChangeRecordPayloads().userRevoked)
                } catch {
                    switch error {
                    case .notFound(.user, _):
                        throw .user("no user named '\(name)'")
                    default:
                        throw .environment("cannot revoke user '\(name)': \(error)")
                    }
                }
                if revoked.revision == nil {
                    writeLine("user '\(name)' was already revoked", to: STDERR_FILENO)
                } else {
                    let tokens = revoked.revokedTokenCount == 1 ? "1 token" : "\(revoked.revokedTokenCount) tokens"
                    writeLine("revoked user '\(name)' (id \(revoked.user.id), \(tokens))", to: STDERR_FILENO)
                }
            }
        }
    }
}

/// Milliseconds since the Unix epoch as ISO-8601 UTC to the second, e.g. 2026-11-26T18:15:42Z.
func iso8601(_ milliseconds: Int64) -> String {
    var seconds = time_t(milliseconds >= 0 ? milliseconds / 1_000 : (milliseconds - 999) / 1_000)
    var parts = tm()
    guard gmtime_r(&seconds, &parts) != nil else { return "\(milliseconds)ms" }
    func padded(_ value: Int32, _ width: Int) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
    return "\(padded(parts.tm_year + 1900, 4))-\(padded(parts.tm_mon + 1, 2))-\(padded(parts.tm_mday, 2))"
        + "T\(padded(parts.tm_hour, 2)):\(padded(parts.tm_min, 2)):\(padded(parts.tm_sec, 2))Z"
}
