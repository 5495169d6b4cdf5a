import BenchmarkSupport

/// One server to call: HOST:PORT.
struct Endpoint: Sendable, CustomStringConvertible {
    var host: String
    var port: Int

    var description: String { "\(host):\(port)" }
}

extension BenchmarkOptions {
    /// The mode's HOST:PORT.
    var endpoint: Endpoint { Endpoint(host: host, port: port) }

    /// The endpoints listed in `name` (`A:P,B:P,…`: the nodes of a cluster); the mode's
    /// HOST:PORT alone when the option is absent.
    func endpoints(_ name: String) throws(UsageError) -> [Endpoint] {
        guard let list = string(name) else { return [endpoint] }
        var endpoints: [Endpoint] = []
        for item in list.split(separator: ",") {
            guard let colon = item.lastIndex(of: ":"), let port = Int(item[item.index(after: colon)...]), colon > item.startIndex else {
                throw UsageError("\(name) wants HOST:PORT,HOST:PORT,…, got '\(item)'")
            }
            endpoints.append(Endpoint(host: String(item[..<colon]), port: port))
        }
        guard !endpoints.isEmpty else { throw UsageError("\(name) lists no endpoint") }
        return endpoints
    }
}

/// `total` split over `parts` as evenly as possible, each at least 1 (connections per node).
func shares(of total: Int, over parts: Int) -> [Int] {
    (0..<parts).map { index in max(1, total / parts + (index < total % parts ? 1 : 0)) }
}
